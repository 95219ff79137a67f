/**
 * A browser's part in the web admin tests, without a browser: fetch with a
 * cookie jar, no redirects followed (tests look at them), the CSRF token
 * read from the page's forms, and the login by the link mailed to the
 * saving SMTP sink.
 */
import { expect } from 'vitest';
import type { SmtpSink } from '../fixtures/smtp-sink.js';

export interface Page {
  status: number;
  text: string;
  location: string | null;
  headers: Headers;
}

export class WebClient {
  readonly cookies = new Map<string, string>();

  constructor(readonly base: string) {}

  private remember(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';');
      const at = pair!.indexOf('=');
      const name = pair!.slice(0, at).trim();
      const value = pair!.slice(at + 1).trim();
      const expired = attributes.some((a) => /^\s*expires=Thu, 01 Jan 1970/i.test(a)) || attributes.some((a) => /^\s*max-age=0\s*$/i.test(a));
      if (expired || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  cookieHeader(): string {
    return [...this.cookies.entries()].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  async get(path: string): Promise<Page> {
    const response = await fetch(`${this.base}${path}`, { redirect: 'manual', headers: { cookie: this.cookieHeader(), accept: 'text/html' } });
    this.remember(response);
    return { status: response.status, text: await response.text(), location: response.headers.get('location'), headers: response.headers };
  }

  async post(path: string, form: Record<string, string | string[]>): Promise<Page> {
    const body = new URLSearchParams();
    for (const [key, value] of Object.entries(form)) for (const v of Array.isArray(value) ? value : [value]) body.append(key, v);
    const response = await fetch(`${this.base}${path}`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie: this.cookieHeader(), 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
      body: body.toString(),
    });
    this.remember(response);
    return { status: response.status, text: await response.text(), location: response.headers.get('location'), headers: response.headers };
  }

  /** The CSRF token of the first form of the page at `path`. */
  async csrf(path: string): Promise<string> {
    const page = await this.get(path);
    const match = /name="_csrf" value="([^"]+)"/.exec(page.text);
    expect(match, `a CSRF field on ${path} (status ${page.status})`).not.toBeNull();
    return match![1]!;
  }
}

/** The login link in the newest mail to `address` at the sink that has one not in `seen`. */
export async function mailedLoginLink(sink: SmtpSink, address: string, seen: Set<string> = new Set()): Promise<string> {
  const find = (): string | undefined => {
    for (const t of sink.accepted) {
      if (!t.recipients.includes(address)) continue;
      const match = /https?:\/\/\S+\/login\/([A-Za-z0-9_-]{43})/.exec(t.body?.toString('utf8') ?? '');
      if (match !== null && !seen.has(match[0])) return match[0];
    }
    return undefined;
  };
  await sink.until(() => find() !== undefined, `a login link mailed to ${address}`);
  const link = find()!;
  seen.add(link);
  return link;
}

/** Ask for a link for `address`, read it from the sink, press the button: the client is logged in. */
export async function logIn(client: WebClient, sink: SmtpSink, address: string, seen: Set<string> = new Set()): Promise<void> {
  const asked = await client.post('/login', { address, _csrf: await client.csrf('/login') });
  expect(asked.status).toBe(200);
  const link = new URL(await mailedLoginLink(sink, address, seen));
  const done = await client.post(link.pathname, { _csrf: await client.csrf(link.pathname) });
  expect(done.status, done.text.slice(0, 500)).toBe(303);
  expect(done.location).toBe('/admin');
}
