/**
 * A whole site for the public pages' tests: a real master (`switchyard
 * start`) with the HTTP service on a free loopback port, LMTP to post, a
 * saving SMTP sink as the smarthost, and a DKIM key (Ed25519) for the list
 * domain; helpers to post, read header fields of copies at the sink, and
 * ask the CLI who is a member.
 */
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { SmtpSink, type SinkTransaction } from '../fixtures/smtp-sink.js';
import type { Records } from '../fixtures/dkim-verifiers.js';
import { freePort } from '../support/net.js';
import { builtInRunnersOff, makeHome, removeHome, runCli, schedulerOff, testConfig } from '../master/harness.js';
import { generateKey } from '../../src/mail/dkim/keygen.js';
import { openStore } from '../../src/store/index.js';

export const DOMAIN = 'lists.example.org';
/** The site's public https URL (`[http] baseUrl`); one-click links exist only with an https one. */
export const PUBLIC_BASE = 'https://web.lists.example.org';

export interface Site {
  home: string;
  sink: SmtpSink;
  lmtpPort: number;
  httpPort: number;
  /** Where the test reaches the HTTP service: http://127.0.0.1:PORT. */
  base: string;
  /** `[http] baseUrl`, what links in mail start with (the https URL of a proxy in front, as in production). */
  publicBase: string;
  /** A link from a mail as the test reaches it: publicBase replaced by base (what the proxy does). */
  local(url: string): string;
  records: Records;
  close(): Promise<void>;
}

export interface SiteOptions {
  /** More lines of the `[http]` table (and any tables after it). */
  extraToml?: string;
  /** A DKIM key for the list domain (default true). */
  dkim?: boolean;
  /**
   * The built-in queue runners (harness BUILT_IN_RUNNERS) and `scheduler` the
   * test needs, the others off: each is one node process to start and stop
   * (~0.3 s of CPU). Default: all of them. LMTP is on unless `lmtp` is false
   * (a test that posts nothing).
   */
  runners?: readonly string[];
  lmtp?: boolean;
}

export async function startSite(options: SiteOptions = {}): Promise<Site> {
  const sink = await SmtpSink.start({ keepBodies: true });
  const lmtpPort = await freePort();
  const httpPort = await freePort();
  const dkim = options.dkim ?? true;
  const runnersOff = options.runners === undefined ? '' : `${builtInRunnersOff(options.runners)}\n${options.runners.includes('scheduler') ? '' : `${schedulerOff()}\n`}`;
  const home = await makeHome(
    testConfig(
      `[smtp]\nport = ${sink.port}\nprobeTimeout = 0\n\n${options.lmtp === false ? '' : `[lmtp]\nport = ${lmtpPort}\n\n`}${runnersOff}[http]\nport = ${httpPort}\nbaseUrl = "${PUBLIC_BASE}"\n${options.extraToml ?? ''}\n${dkim ? `[dkim.domains."${DOMAIN}"]\nselector = "e1"\nkeys = [{ file = "dkim/${DOMAIN}.e1.pem", selector = "e1" }]\n` : ''}`,
    ),
  );
  const records: Records = {};
  if (dkim) {
    // The key made in this process (what `switchyard dkim keygen` calls; that command is tested in test/cli): one CLI start-up fewer.
    const { record } = generateKey({ domain: DOMAIN, selector: 'e1', type: 'ed25519', dir: join(home, 'dkim'), force: false });
    records[record.name] = record.text;
  }
  let started = false;
  const site: Site = {
    home,
    sink,
    lmtpPort,
    httpPort,
    base: `http://127.0.0.1:${httpPort}`,
    publicBase: PUBLIC_BASE,
    local(url) {
      if (!url.startsWith(`${PUBLIC_BASE}/`)) throw new Error(`not a link of this site (${PUBLIC_BASE}): ${url}`);
      return `http://127.0.0.1:${httpPort}${url.slice(PUBLIC_BASE.length)}`;
    },
    records,
    async close() {
      if (started) await runCli(['--home', home, 'stop']);
      await sink.close();
      await removeHome(home);
    },
  };
  const result = await runCli(['--home', home, 'start']);
  started = result.code === 0;
  if (!started) throw new Error(`start failed (${result.code}): ${result.stdout}${result.stderr}`);
  return site;
}

/** Run the CLI against the site; throws unless it exits 0. */
export async function cli(site: Site, args: string[]): Promise<string> {
  const result = await runCli(['--home', site.home, ...args]);
  if (result.code !== 0) throw new Error(`switchyard ${args.join(' ')} exited ${result.code}: ${result.stderr}${result.stdout}`);
  return result.stdout;
}

/**
 * The member addresses of a list, read from the site's store (what the
 * pages under test changed). Not through `switchyard members list` (tested in
 * test/cli): a CLI start-up for each look costs seconds on a loaded machine.
 */
export async function members(site: Site, list: string): Promise<string[]> {
  const store = openStore(site.home);
  try {
    return (await store.members(list, { role: 'member' })).map((member) => member.address).sort();
  } finally {
    await store.close();
  }
}

/** Post over LMTP; resolves once the master has accepted it. */
export async function post(site: Site, list: string, subject: string, messageId: string, from = 'ann@example.org'): Promise<void> {
  const raw = Buffer.from(`From: <${from}>\r\nTo: <${list}>\r\nSubject: ${subject}\r\nMessage-ID: <${messageId}>\r\nDate: Sun, 06 Dec 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHello, list.\r\n`, 'utf8');
  const transport = nodemailer.createTransport({ lmtp: true, host: '127.0.0.1', port: site.lmtpPort });
  try {
    await transport.sendMail({ envelope: { from, to: [list] }, raw });
  } finally {
    transport.close();
  }
}

/** The copies of a post (by Message-ID) at the sink, once `count` have arrived. */
export async function copiesOf(site: Site, messageId: string, count: number): Promise<SinkTransaction[]> {
  // The post itself, not a notice about it (whose In-Reply-To names it).
  const pattern = new RegExp(`^Message-ID:\\s*<${messageId.replace(/[.]/g, '\\.')}>`, 'im');
  const match = (t: SinkTransaction): boolean => pattern.test(t.body?.toString('latin1') ?? '');
  await site.sink.until(() => site.sink.accepted.filter(match).reduce((n, t) => n + t.recipients.length, 0) >= count, `${count} copies of ${messageId}`);
  return site.sink.accepted.filter(match);
}

/** Every value of header field `name` in a message, unfolded. */
export function headerValues(message: Buffer, name: string): string[] {
  const text = message.toString('utf8');
  const end = text.indexOf('\r\n\r\n');
  const head = (end < 0 ? text : text.slice(0, end)).replace(/\r\n[ \t]+/g, ' ');
  const lower = `${name.toLowerCase()}:`;
  return head
    .split('\r\n')
    .filter((line) => line.toLowerCase().startsWith(lower))
    .map((line) => line.slice(lower.length).trim());
}

/** The https/http one-click URL of a copy's List-Unsubscribe. */
export function oneClickUrl(message: Buffer): string {
  const value = headerValues(message, 'List-Unsubscribe')[0] ?? '';
  const url = /<(https?:\/\/[^>]+)>/.exec(value)?.[1];
  if (url === undefined) throw new Error(`no one-click URL in List-Unsubscribe: ${value}`);
  return url;
}

/** The confirmation link of the confirmation mail last sent to `address`. */
export async function confirmationLink(site: Site, address: string, list: string): Promise<string> {
  const find = (): string | undefined => {
    for (const t of [...site.sink.accepted].reverse()) {
      if (!t.recipients.includes(address) || t.body === undefined) continue;
      const text = t.body.toString('utf8').replace(/=\r\n/g, '');
      const url = new RegExp(`(https?://\\S+/lists/${list.replace(/\./g, '\\.')}/confirm/[0-9a-f]+)`).exec(text)?.[1];
      if (url !== undefined) return url;
    }
    return undefined;
  };
  await site.sink.until(() => find() !== undefined, `the confirmation mail to ${address}`);
  return site.local(find()!);
}

/** A browser without a browser: keeps the form cookie, reads each page's form tokens, posts forms (application/x-www-form-urlencoded). */
export class FormClient {
  private cookie = '';
  /** action path -> form token, from the pages fetched. */
  readonly tokens = new Map<string, string>();

  constructor(readonly base: string) {}

  private remember(answer: Response, text: string): void {
    for (const line of answer.headers.getSetCookie()) {
      const [pair] = line.split(';');
      if (pair?.startsWith('sy_form=')) this.cookie = pair;
    }
    for (const form of text.matchAll(/<form method="post" action="([^"]+)"[^>]*>\s*<input type="hidden" name="formToken" value="([^"]+)">/g)) this.tokens.set(form[1]!, form[2]!);
  }

  get cookieHeader(): string {
    return this.cookie;
  }

  async get(path: string): Promise<{ status: number; text: string; headers: Headers }> {
    const answer = await fetch(`${this.base}${path}`, { headers: this.cookie === '' ? {} : { cookie: this.cookie } });
    const text = await answer.text();
    this.remember(answer, text);
    return { status: answer.status, text, headers: answer.headers };
  }

  /** POST `fields` to `action`, with the form token the last page gave for it (unless `token` says otherwise; null: none). */
  async post(action: string, fields: Record<string, string>, token?: string | null): Promise<{ status: number; text: string; headers: Headers }> {
    const formToken = token === undefined ? this.tokens.get(action) : token;
    const body = new URLSearchParams({ ...fields, ...(formToken === null || formToken === undefined ? {} : { formToken }) });
    const answer = await fetch(`${this.base}${action}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...(this.cookie === '' ? {} : { cookie: this.cookie }) }, body });
    const text = await answer.text();
    this.remember(answer, text);
    return { status: answer.status, text, headers: answer.headers };
  }
}
