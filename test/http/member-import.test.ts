/**
 * The member import over HTTP on a real built master: the REST API's
 * `POST /api/v1/lists/LIST/members/import` (text/csv in, NDJSON progress,
 * error and done lines out, the same import as `switchyard members import`,
 * which then sees every member) with its auth and limits, and the web
 * admin's import form, with and without its script's text/csv request.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/net.js';
import { builtInRunnersOff, makeHome, removeHome, schedulerOff, startMaster, testConfig, type MasterHandle } from '../master/harness.js';
import { runCliOk } from '../support/cli.js';
import { strict, withHomeApp } from '../support/home-app.js';
import { createApiToken, type NewTokenRequest } from '../../src/app/api-tokens.js';
import { createList } from '../../src/app/lists.js';
import { listMembers } from '../../src/app/membership.js';
import { WebClient } from './admin-client.js';

const A = 'alpha@lists.example.org';
const B = 'beta@lists.example.org';
const IMPORT_LIMIT = 512 * 1024;
const enc = encodeURIComponent;

let home: string;
let master: MasterHandle;
let base: string;
const tokens = { admin: '', ownerA: '', modA: '', ownerB: '' };

const cli = (...args: string[]) => runCliOk(['--home', home, ...args]);

/** A token made in this process, as `switchyard tokens create` makes it (tested in test/cli): no CLI start-up (~0.35 s of CPU). */
async function token(request: NewTokenRequest): Promise<string> {
  return (await withHomeApp(home, (app) => createApiToken(app, request))).token;
}

interface MemberJson {
  address: string;
  displayName: string;
  deliveryMode: string;
  deliveryStatus: string;
}

/** What `switchyard members list LIST --role member --json` shows: the CLI sees what the import wrote. */
async function membersViaCli(list: string): Promise<MemberJson[]> {
  return (JSON.parse((await cli('members', 'list', list, '--role', 'member', '--json')).stdout) as { members: MemberJson[] }).members;
}

/** The same records read from the store in this process: for the many looks after that one, without a CLI start-up each. */
async function members(list: string): Promise<MemberJson[]> {
  return withHomeApp(home, (app) => listMembers(app, list, { role: 'member' }));
}

type Event = { type: string; [key: string]: unknown };

interface ImportAnswer {
  status: number;
  type: string | null;
  events: Event[];
  /** The JSON error of a refused request. */
  error: { code: string; message: string } | undefined;
}

async function importCsv(list: string, csv: string, options: { token?: string; query?: string; type?: string } = {}): Promise<ImportAnswer> {
  const headers: Record<string, string> = { 'content-type': options.type ?? 'text/csv' };
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  const response = await fetch(`${base}/api/v1/lists/${enc(list)}/members/import${options.query ?? ''}`, { method: 'POST', headers, body: csv });
  const text = await response.text();
  const type = response.headers.get('content-type');
  if (type?.startsWith('application/x-ndjson')) {
    expect(text.endsWith('\n')).toBe(true);
    return { status: response.status, type, events: text.trimEnd().split('\n').map((line) => JSON.parse(line) as Event), error: undefined };
  }
  return { status: response.status, type, events: [], error: (JSON.parse(text) as { error: { code: string; message: string } }).error };
}

const progressOf = (events: Event[]) => events.filter((e) => e.type === 'progress');
const errorsOf = (events: Event[]) => events.filter((e) => e.type === 'error');
const doneOf = (events: Event[]) => {
  expect(events.at(-1)?.type).toBe('done');
  return events.at(-1)!;
};

beforeAll(async () => {
  const port = await freePort();
  const smtpPort = await freePort(); // nothing listens; no mail is sent here
  // A small bodyLimit for every other route: the import has its own.
  // No mail here: the HTTP service alone, no queue runner and no scheduler (each a node process to start).
  home = await makeHome(testConfig(`[http]\nport = ${port}\nrateLimit = 10000\nbodyLimit = 4096\nimportBodyLimit = ${IMPORT_LIMIT}\n\n[smtp]\nport = ${smtpPort}\nprobeTimeout = 0\n\n${builtInRunnersOff()}\n${schedulerOff()}`));
  base = `http://127.0.0.1:${port}`;
  // Set up in this process, as `lists create` and `tokens create` would (the CLI is tested in test/cli).
  await withHomeApp(home, async (app) => {
    strict(await createList(app, { address: A, owners: ['owner@example.org'] }));
    strict(await createList(app, { address: B, owners: ['owner@example.org'] }));
  });
  tokens.admin = await token({ name: 'ops', role: 'admin' });
  tokens.ownerA = await token({ name: 'ann', list: A, role: 'owner' });
  tokens.modA = await token({ name: 'mo', list: A, role: 'moderator' });
  tokens.ownerB = await token({ name: 'bo', list: B, role: 'owner' });
  master = await startMaster(home);
}, 240_000);

afterAll(async () => {
  await master?.stop();
  if (home !== undefined) await removeHome(home);
});

describe('POST /api/v1/lists/LIST/members/import', () => {
  const csv = [
    'address,name,delivery_mode,delivery_status',
    'anne@example.org,Anne Example,regular,enabled',
    '"bob@example.org","Example, Bob",mime,',
    'carol@example.org,,plain_digests,by_owner',
    'not-an-address,Nobody,regular,enabled',
    'ANNE@example.org,Anne Again,,',
    'dave@example.org,Dave,weekly,enabled',
    '',
    '# a comment',
    'erin@exa mple.org,Erin,,',
    'frank@example.org,Frank,,by_bounces',
    'gina@example.org,Gina,summary,off',
  ].join('\r\n');

  it('imports the good rows, reports each bad one by line, code and reason without stopping, and counts exactly', async () => {
    const answer = await importCsv(A, csv, { token: tokens.ownerA });
    expect(answer.status).toBe(200);
    expect(answer.type).toBe('application/x-ndjson; charset=utf-8');
    expect(errorsOf(answer.events)).toEqual([
      { type: 'error', line: 5, address: 'not-an-address', code: 'SY_ADDRESS_INVALID', reason: expect.stringContaining('no @') },
      { type: 'error', line: 7, address: 'dave@example.org', code: 'SY_MEMBER_IMPORT_FIELD', reason: expect.stringContaining('delivery_mode "weekly"') },
      { type: 'error', line: 10, address: 'erin@exa mple.org', code: 'SY_ADDRESS_INVALID', reason: expect.stringContaining('space in domain') },
      { type: 'error', line: 11, address: 'frank@example.org', code: 'SY_MEMBER_IMPORT_FIELD', reason: expect.stringContaining('by_bounces') },
    ]);
    expect(doneOf(answer.events)).toEqual({ type: 'done', processed: 9, total: 9, added: 4, skipped: 1, errors: 4, lines: 12, dryRun: false });
    // The first line after the header: where the import starts.
    expect(answer.events[0]).toEqual({ type: 'progress', processed: 0, total: 9, added: 0, skipped: 0, errors: 0 });
    expect((await membersViaCli(A)).map((m) => [m.address, m.displayName, m.deliveryMode, m.deliveryStatus])).toEqual([
      ['anne@example.org', 'Anne Example', 'regular', 'enabled'],
      ['bob@example.org', 'Example, Bob', 'mime_digests', 'enabled'],
      ['carol@example.org', '', 'plain_digests', 'by_owner'],
      ['gina@example.org', 'Gina', 'summary_digests', 'by_user'],
    ]);
  });

  it('adds nothing when the same file is imported again: every good row is already a member', async () => {
    const again = await importCsv(A, csv, { token: tokens.admin });
    expect(doneOf(again.events)).toMatchObject({ processed: 9, added: 0, skipped: 5, errors: 4 });
    expect(errorsOf(again.events)).toHaveLength(4);
    expect(await members(A)).toHaveLength(4);
  });

  it('dryRun=true counts what would be added and changes nothing', async () => {
    const dry = await importCsv(A, 'address\nanne@example.org\nnew1@example.org\nnew2@example.org\nnew1@example.org\n', { token: tokens.ownerA, query: '?dryRun=true' });
    expect(doneOf(dry.events)).toEqual({ type: 'done', processed: 4, total: 4, added: 2, skipped: 2, errors: 0, lines: 5, dryRun: true });
    expect((await members(A)).map((m) => m.address)).not.toContain('new1@example.org');
    const empty = await importCsv(A, '', { token: tokens.ownerA });
    expect(empty.events).toEqual([
      { type: 'progress', processed: 0, total: 0, added: 0, skipped: 0, errors: 0 },
      { type: 'done', processed: 0, total: 0, added: 0, skipped: 0, errors: 0, lines: 0, dryRun: false },
    ]);
  });

  it('reports progress at least every 1000 rows of a large file, with counts that only grow', async () => {
    const rows = Array.from({ length: 5000 }, (_, i) => (i % 1000 === 999 ? `broken-${i}` : `bulk${i}@example.net,Bulk ${i}`));
    const answer = await importCsv(B, `address,name\n${rows.join('\n')}\n`, { token: tokens.ownerB });
    expect(answer.status).toBe(200);
    const progress = progressOf(answer.events);
    expect(progress.length).toBeGreaterThanOrEqual(2);
    // Counts between two lines only grow, and each line's counts add up to the rows processed.
    for (let i = 1; i < progress.length; i++) {
      for (const key of ['processed', 'added', 'skipped', 'errors']) expect(progress[i]![key] as number).toBeGreaterThanOrEqual(progress[i - 1]![key] as number);
    }
    for (const p of progress) {
      expect(p.total).toBe(5000);
      expect((p.added as number) + (p.skipped as number) + (p.errors as number)).toBe(p.processed);
      expect((p.processed as number) % 1000).toBe(0);
    }
    expect(progress.at(-1)).toMatchObject({ processed: 5000 });
    expect(errorsOf(answer.events).map((e) => e.line)).toEqual([1001, 2001, 3001, 4001, 5001]);
    expect(doneOf(answer.events)).toMatchObject({ processed: 5000, total: 5000, added: 4995, skipped: 0, errors: 5 });
    expect(await members(B)).toHaveLength(4995);
  });

  it('401 without a token; 403 for a moderator of the list and for the owner of another list', async () => {
    const none = await importCsv(A, 'address\nx@example.org\n');
    expect([none.status, none.error?.code]).toEqual([401, 'SY_API_UNAUTHORIZED']);
    for (const other of [tokens.modA, tokens.ownerB]) {
      const answer = await importCsv(A, 'address\nx@example.org\n', { token: other });
      expect([answer.status, answer.error?.code]).toEqual([403, 'SY_API_FORBIDDEN']);
    }
    expect((await members(A)).map((m) => m.address)).not.toContain('x@example.org');
  });

  it('404 for a list that does not exist, 415 for a body that is not text/csv, 422 for a header naming an unknown column', async () => {
    const missing = await importCsv('nope@lists.example.org', 'address\nx@example.org\n', { token: tokens.admin });
    expect([missing.status, missing.error?.code]).toEqual([404, 'SY_LIST_UNKNOWN']);
    const json = await importCsv(A, JSON.stringify({ address: 'x@example.org' }), { token: tokens.ownerA, type: 'application/json' });
    expect([json.status, json.error?.code]).toEqual([415, 'SY_API_BAD_REQUEST']);
    const header = await importCsv(A, 'address,shoe_size\nx@example.org,44\n', { token: tokens.ownerA });
    expect([header.status, header.error?.code]).toEqual([422, 'SY_MEMBER_IMPORT_HEADER']);
    expect(header.error?.message).toContain('unknown column "shoe_size"');
    const query = await importCsv(A, 'address\nx@example.org\n', { token: tokens.ownerA, query: '?dryRun=maybe' });
    expect([query.status, query.error?.code]).toEqual([422, 'SY_API_INVALID']);
  });

  it('takes a body over http.bodyLimit up to http.importBodyLimit; over that 413 SY_API_TOO_LARGE, nothing imported', async () => {
    const fits = await importCsv(A, `address\n${'fits@example.org\n'.repeat(1000)}`, { token: tokens.ownerA });
    expect(doneOf(fits.events)).toMatchObject({ added: 1, skipped: 999 });
    const rows = Array.from({ length: 30_000 }, (_, i) => `toolarge${i}@example.org`).join('\n');
    expect(rows.length).toBeGreaterThan(IMPORT_LIMIT);
    const big = await importCsv(A, `address\n${rows}\n`, { token: tokens.ownerA });
    expect([big.status, big.error?.code]).toEqual([413, 'SY_API_TOO_LARGE']);
    expect((await members(A)).some((m) => m.address.startsWith('toolarge'))).toBe(false);
    // Every other route keeps its small limit.
    const other = await fetch(`${base}/api/v1/lists/${enc(A)}/members`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokens.ownerA}`, 'content-type': 'application/json' },
      body: JSON.stringify({ address: 'x@example.org', displayName: 'x'.repeat(5000) }),
    });
    expect(other.status).toBe(413);
  });

  it('is in the OpenAPI document with its text/csv body and NDJSON answer', async () => {
    const document = (await (await fetch(`${base}/api/openapi.json`)).json()) as { paths: Record<string, Record<string, { requestBody: { content: Record<string, unknown> }; responses: Record<string, { content?: Record<string, unknown> }> }>> };
    const operation = document.paths['/api/v1/lists/{list}/members/import']!.post!;
    expect(Object.keys(operation.requestBody.content)).toEqual(['text/csv']);
    expect(Object.keys(operation.responses['200']!.content!)).toEqual(['application/x-ndjson']);
    expect(Object.keys(operation.responses)).toEqual(expect.arrayContaining(['401', '403', '404', '413', '415', '422']));
  });
});

describe('the web admin import form', () => {
  let admin: WebClient;
  const page = `/admin/lists/${enc(A)}/members/import`;

  beforeAll(async () => {
    admin = new WebClient(base);
    const login = await admin.post('/login/token', { token: tokens.admin, _csrf: await admin.csrf('/login') });
    expect(login.status).toBe(303);
  });

  it('is linked from the members page and served with a policy that allows our own script files only', async () => {
    expect((await admin.get(`/admin/lists/${enc(A)}/members`)).text).toContain(`href="${page}"`);
    const form = await admin.get(page);
    expect(form.status).toBe(200);
    expect(form.text).toContain('<textarea id="import-csv" name="csv"');
    expect(form.text).toContain('<script src="/static/member-import.js"></script>');
    expect(form.text).not.toMatch(/<script>|<script [^s]/);
    const policy = form.headers.get('content-security-policy')!;
    expect(policy).toContain("script-src 'self'");
    expect(policy).toContain("connect-src 'self'");
    expect(policy).not.toContain('unsafe-inline');
    // Every other page keeps the policy without script.
    expect((await admin.get(`/admin/lists/${enc(A)}/members`)).headers.get('content-security-policy')).not.toContain('script-src');
    const script = await fetch(`${base}/static/member-import.js`);
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(await script.text()).toContain("'x-csrf-token'");
  });

  it('without JavaScript: the pasted CSV is imported and a summary page lists the counts and the rows not imported', async () => {
    const csrf = await admin.csrf(page);
    const answer = await admin.post(page, { _csrf: csrf, csv: 'address,name\nweb1@example.org,Web One\nweb2@example.org\n<script>alert(1)</script>,Mallory\nanne@example.org\n', role: 'member' });
    expect(answer.status).toBe(200);
    expect(answer.text).toContain('<h1>Members imported</h1>');
    expect(answer.text).toMatch(/<div class="value">2<\/div>added/);
    expect(answer.text).toMatch(/<div class="value">1<\/div>already members/);
    expect(answer.text).toMatch(/<div class="value">1<\/div>not imported/);
    expect(answer.text).toContain('<td>&lt;script&gt;alert(1)&lt;/script&gt;</td><td><code>SY_ADDRESS_INVALID</code></td>');
    expect(answer.text).not.toContain('<script>alert');
    expect((await members(A)).map((m) => m.address)).toEqual(expect.arrayContaining(['web1@example.org', 'web2@example.org']));
  });

  it('takes a pasted file larger than http.bodyLimit (up to http.importBodyLimit)', async () => {
    const rows = Array.from({ length: 300 }, (_, i) => `pasted${i}@example.org,Pasted Member ${i}`).join('\n');
    expect(rows.length).toBeGreaterThan(4096);
    const answer = await admin.post(page, { _csrf: await admin.csrf(page), csv: `address,name\n${rows}\n`, role: 'member', dryRun: 'true' });
    expect(answer.status).toBe(200);
    expect(answer.text).toContain('<h1>Import checked (dry run, nothing changed)</h1>');
    expect(answer.text).toMatch(/<div class="value">300<\/div>would be added/);
    expect((await members(A)).some((m) => m.address.startsWith('pasted'))).toBe(false);
  });

  it('shows the form again with the error and the pasted text when the header names an unknown column: 422, nothing imported', async () => {
    const answer = await admin.post(page, { _csrf: await admin.csrf(page), csv: 'address,hat\nhat1@example.org,fedora\n' });
    expect(answer.status).toBe(422);
    expect(answer.text).toContain('unknown column &quot;hat&quot;');
    expect(answer.text).toContain('SY_MEMBER_IMPORT_HEADER');
    expect(answer.text).toContain('>address,hat\nhat1@example.org,fedora\n</textarea>');
    expect((await members(A)).map((m) => m.address)).not.toContain('hat1@example.org');
  });

  it('refuses the form without its CSRF token, and the script\'s text/csv request without the X-CSRF-Token header: 403, nothing imported', async () => {
    const empty = await fetch(`${base}${page}`, { method: 'POST', redirect: 'manual', headers: { cookie: admin.cookieHeader(), 'content-type': 'text/csv', 'x-csrf-token': await admin.csrf(page) } });
    expect(empty.status).toBe(200);
    expect((await empty.text()).trimEnd().split('\n').at(-1)).toContain('"type":"done","processed":0');
    const forged = await admin.post(page, { csv: 'address\nforged1@example.org\n' });
    expect(forged.status).toBe(403);
    expect(forged.text).toContain('SY_WEB_CSRF');
    const headers = { cookie: admin.cookieHeader(), 'content-type': 'text/csv' };
    const noHeader = await fetch(`${base}${page}`, { method: 'POST', redirect: 'manual', headers, body: 'address\nforged2@example.org\n' });
    expect(noHeader.status).toBe(403);
    const wrong = await fetch(`${base}${page}`, { method: 'POST', redirect: 'manual', headers: { ...headers, 'x-csrf-token': 'not-the-token' }, body: 'address\nforged3@example.org\n' });
    expect(wrong.status).toBe(403);
    const addresses = (await members(A)).map((m) => m.address);
    for (const forgedAddress of ['forged1@example.org', 'forged2@example.org', 'forged3@example.org']) expect(addresses).not.toContain(forgedAddress);
  });

  it('the script\'s request: text/csv with the CSRF token in a header streams the same NDJSON lines as the API', async () => {
    const csrf = await admin.csrf(page);
    const response = await fetch(`${base}${page}?dryRun=false&role=member`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie: admin.cookieHeader(), 'content-type': 'text/csv', 'x-csrf-token': csrf },
      body: 'address,delivery_mode\nscript1@example.org,digest\nscript2@example.org,never\n',
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/x-ndjson; charset=utf-8');
    const events = (await response.text()).trimEnd().split('\n').map((line) => JSON.parse(line) as Event);
    expect(errorsOf(events)).toEqual([{ type: 'error', line: 3, address: 'script2@example.org', code: 'SY_MEMBER_IMPORT_FIELD', reason: expect.any(String) }]);
    expect(doneOf(events)).toMatchObject({ processed: 2, added: 1, errors: 1 });
    expect((await members(A)).find((m) => m.address === 'script1@example.org')?.deliveryMode).toBe('mime_digests');
  });

  it('without a session, the import is sent to the login page before its body is read', async () => {
    const response = await fetch(`${base}${page}`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'text/csv' }, body: 'address\nanon@example.org\n' });
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/login');
  });
});
