/**
 * The web admin benchmark, against a real master's HTTP service with 1,000
 * posts held on one list:
 *
 * - the moderation queue page (`GET /admin/lists/LIST/held`, the first
 *   100 of the 1,000 held posts, logged in as a site administrator):
 *   render time p50 and p99 over sequential requests, beside the floor, a
 *   bare fastify process answering the same HTML bytes from memory;
 * - approving the 1,000 held posts through the REST API (`POST
 *   /api/v1/lists/LIST/held/ID/approve`, a site administrator's token,
 *   BENCH_CLIENTS concurrent clients): requests/s, beside the floor
 *   answering a POST with an answer of the same size. Each approval puts
 *   the post back on `in` (a durable enqueue) and records the decision.
 *
 *     npm run bench -- web-admin
 *     node dist/test/bench/web-admin.bench.js
 *
 * Scale with BENCH_HELD (default 1000), BENCH_PAGE_REQUESTS (default 300),
 * BENCH_CLIENTS (default 8).
 *
 * Files: a fresh `switchyard-bench-*` home (removed at the end).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createApiToken } from '../../src/app/api-tokens.js';
import { openStore } from '../../src/store/index.js';
import { freePort } from '../support/net.js';
import { envInt, freshDir, percentile, removeDir, Report, switchyardCli } from './harness.js';

const HELD = envInt('BENCH_HELD', 1000);
const PAGE_REQUESTS = envInt('BENCH_PAGE_REQUESTS', 300);
const CLIENTS = envInt('BENCH_CLIENTS', 8);
const LIST = 'bench@lists.example.org';
const FLOOR_SERVER = fileURLToPath(new URL('./web-floor-server.js', import.meta.url));

const report = new Report('web-admin');

function heldPost(i: number): Buffer {
  return Buffer.from(
    `From: Poster ${i} <poster${i}@example.net>\r\nTo: ${LIST}\r\nSubject: Question number ${i} about the <release> & its "plans"\r\nMessage-ID: <held-${i}@example.net>\r\nDate: Sat, 05 Dec 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n${'Some text of a held post. '.repeat(40)}\r\n`,
  );
}

async function startFloor(pageFile: string, approvalFile: string): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [FLOOR_SERVER, pageFile, approvalFile], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`floor server exited ${code}`)));
  });
  return { child, port: Number(line) };
}

/** Sequential GETs: each request's time in ms. */
async function latencies(url: string, headers: Record<string, string>, count: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    const response = await fetch(url, { headers });
    const text = await response.text();
    if (response.status !== 200) throw new Error(`HTTP ${response.status}: ${text.slice(0, 300)}`);
    times.push(performance.now() - started);
  }
  return times;
}

/** POST each URL once, CLIENTS at a time: requests/s. */
async function posts(urls: string[], headers: Record<string, string>): Promise<number> {
  let next = 0;
  const client = async (): Promise<void> => {
    while (next < urls.length) {
      const url = urls[next++]!;
      const response = await fetch(url, { method: 'POST', headers });
      const text = await response.text();
      if (response.status !== 200) throw new Error(`HTTP ${response.status}: ${text.slice(0, 300)}`);
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: CLIENTS }, client));
  return urls.length / ((performance.now() - started) / 1000);
}

/** Log in to the web admin with a site administrator's token: the cookie header of the session. */
async function session(base: string, token: string): Promise<string> {
  const form = await fetch(`${base}/login`);
  const pre = form.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  const csrf = /name="_csrf" value="([^"]+)"/.exec(await form.text())![1]!;
  const login = await fetch(`${base}/login/token`, {
    method: 'POST',
    redirect: 'manual',
    headers: { cookie: pre, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token, _csrf: csrf }).toString(),
  });
  if (login.status !== 303) throw new Error(`login: HTTP ${login.status}`);
  return login.headers.getSetCookie().map((c) => c.split(';')[0]).filter((c) => c!.startsWith('sy_session=')).join('; ');
}

report.setting('held posts', HELD);
report.setting('page requests', PAGE_REQUESTS);
report.setting('clients (approvals)', CLIENTS);
report.printHeader();

const home = await freshDir('web-admin');
let floor: ChildProcess | undefined;
try {
  const port = await freePort();
  await writeFile(join(home, 'switchyard.toml'), `[logging]\ndestination = "files"\nlevel = "warn"\n\n[runner.lmtp]\nenabled = false\n\n[smtp]\nprobeTimeout = 0\n\n[http]\nport = ${port}\nrateLimit = 1000000\n`);
  const store = openStore(home);
  let token: string;
  try {
    await store.createList({ address: LIST, members: [{ address: 'owner@example.org', role: 'owner' }] });
    for (let i = 0; i < HELD; i++) await store.holdMessage({ list: LIST, sender: `poster${i}@example.net`, subject: `Question number ${i} about the <release> & its "plans"`, reason: 'post from a non-member', raw: heldPost(i), messageId: `<held-${i}@example.net>`, metadata: { listId: LIST } });
    token = (await createApiToken({ store, now: () => new Date() }, { name: 'bench', role: 'admin' })).token;
  } finally {
    await store.close();
  }
  const started = await switchyardCli(home, 'start');
  if (started.code !== 0) throw new Error(`switchyard start: ${started.output}`);
  const base = `http://127.0.0.1:${port}`;
  const cookie = await session(base, token);
  const pageUrl = `${base}/admin/lists/${encodeURIComponent(LIST)}/held`;
  const page = await (await fetch(pageUrl, { headers: { cookie } })).text();
  if (!page.includes('Question number 99 ')) throw new Error('the queue page does not show the held posts');
  const pageFile = join(home, 'floor-page.html');
  await writeFile(pageFile, page);
  const approvalFile = join(home, 'floor-approval.json');
  await writeFile(approvalFile, JSON.stringify({ id: 1, decision: 'approve', decidedBy: 'api token 1 (bench)', entry: '1733479200000.000001.0123456789abcdef' }));
  const floorServer = await startFloor(pageFile, approvalFile);
  floor = floorServer.child;
  const floorBase = `http://127.0.0.1:${floorServer.port}/floor`;

  report.section(`moderation queue page, ${HELD} held (the first 100 shown, ${Math.round(page.length / 1024)} KiB), ${PAGE_REQUESTS} sequential requests`, [
    'service: session lookup and roles from the store, the held posts read, the page rendered by html`` templates; floor: bare fastify, the same bytes from memory, own process',
  ]);
  await latencies(pageUrl, { cookie }, 20);
  await latencies(`${floorBase}/page`, {}, 20);
  const service = await latencies(pageUrl, { cookie }, PAGE_REQUESTS);
  const bare = await latencies(`${floorBase}/page`, {}, PAGE_REQUESTS);
  for (const p of [50, 99]) {
    const value = percentile(service, p);
    const floorValue = percentile(bare, p);
    report.row({ name: `queue page render p${p}`, unit: 'ms', value, floor: floorValue, ratio: floorValue / value });
  }

  report.section(`approving ${HELD} held posts through the REST API, ${CLIENTS} clients`, [
    'service: token, validation, the post put back on `in` (fsynced enqueue), the decision recorded; floor: bare fastify answering the same size of JSON',
  ]);
  const listed = (await (await fetch(`${base}/api/v1/lists/${encodeURIComponent(LIST)}/held`, { headers: { authorization: `Bearer ${token}` } })).json()) as { held: { id: number }[] };
  const floorRate = await posts(listed.held.map((h) => `${floorBase}/approve/${h.id}`), {});
  const rate = await posts(listed.held.map((h) => `${base}/api/v1/lists/${encodeURIComponent(LIST)}/held/${h.id}/approve`), { authorization: `Bearer ${token}` });
  report.row({ name: 'approvals through the API', unit: 'req/s', value: rate, floor: floorRate, ratio: rate / floorRate });
  const left = (await (await fetch(`${base}/api/v1/lists/${encodeURIComponent(LIST)}/held`, { headers: { authorization: `Bearer ${token}` } })).json()) as { held: unknown[] };
  report.note(`held posts left after the approvals: ${left.held.length}`);
} finally {
  floor?.kill('SIGTERM');
  await switchyardCli(home, 'stop');
  await removeDir(home);
}
await report.finish();
