/**
 * The HTTP API benchmark: member listing requests per second on a list of
 * 10,000 members, paged (`GET /api/v1/lists/LIST/members?limit=100`, each
 * client following `next` through every page, with a site administrator's
 * token), against a real master's HTTP service; beside it the floor, a bare
 * fastify route in its own process answering the same JSON pages from
 * memory (http-floor-server.ts), measured in the same run. The difference is
 * what the service adds per request: the token lookup (one store write: its
 * last use), validation, the page query, and serialising the page.
 *
 *     npm run bench -- http-members
 *     node dist/test/bench/http-members.bench.js
 *
 * Scale with BENCH_MEMBERS (default 10000), BENCH_CLIENTS (concurrent
 * clients, default 8), BENCH_SECONDS (per measurement, default 5),
 * BENCH_ROUNDS (default 3). Figures are medians over rounds; the ratio the
 * median of per-round ratios.
 *
 * Files: a fresh `switchyard-bench-*` home (removed at the end) and the
 * floor's page file in it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createApiToken } from '../../src/app/api-tokens.js';
import { openStore } from '../../src/store/index.js';
import { freePort } from '../support/net.js';
import { envInt, freshDir, median, removeDir, Report, switchyardCli } from './harness.js';

const MEMBERS = envInt('BENCH_MEMBERS', 10_000);
const CLIENTS = envInt('BENCH_CLIENTS', 8);
const SECONDS = envInt('BENCH_SECONDS', 5);
const ROUNDS = envInt('BENCH_ROUNDS', 3);
const PAGE = 100;
const LIST = 'bench@lists.example.org';
const FLOOR_SERVER = fileURLToPath(new URL('./http-floor-server.js', import.meta.url));

const report = new Report('http-members');

/** Clients walking page after page until `seconds` pass; requests per second answered 200. */
async function load(seconds: number, walk: (page: number, cursor: string | null) => string, headers: Record<string, string>): Promise<number> {
  const until = performance.now() + seconds * 1000;
  let done = 0;
  const client = async (): Promise<void> => {
    let page = 0;
    let cursor: string | null = null;
    while (performance.now() < until) {
      const response = await fetch(walk(page, cursor), { headers });
      const body = (await response.json()) as { next: string | null };
      if (response.status !== 200) throw new Error(`HTTP ${response.status}: ${JSON.stringify(body)}`);
      done++;
      cursor = body.next;
      page = cursor === null ? 0 : page + 1;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: CLIENTS }, client));
  return done / ((performance.now() - started) / 1000);
}

async function startFloor(pagesFile: string): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [FLOOR_SERVER, pagesFile], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`floor server exited ${code}`)));
  });
  return { child, port: Number(line) };
}

report.setting('members', MEMBERS);
report.setting('page size', PAGE);
report.setting('clients', CLIENTS);
report.setting('seconds per measurement', SECONDS);
report.setting('rounds', ROUNDS);
report.printHeader();

const home = await freshDir('http-members');
let floor: ChildProcess | undefined;
try {
  const port = await freePort();
  await writeFile(join(home, 'switchyard.toml'), `[logging]\ndestination = "files"\nlevel = "warn"\n\n[runner.lmtp]\nenabled = false\n\n[smtp]\nprobeTimeout = 0\n\n[http]\nport = ${port}\n`);
  const store = openStore(home);
  let token: string;
  try {
    await store.createList({ address: LIST });
    await store.addMembers(LIST, Array.from({ length: MEMBERS }, (_, i) => ({ address: `member${String(i).padStart(6, '0')}@example${i % 97}.org`, displayName: `Member ${i}` })));
    token = (await createApiToken({ store, now: () => new Date() }, { name: 'bench', role: 'admin' })).token;
  } finally {
    await store.close();
  }
  const started = await switchyardCli(home, 'start');
  if (started.code !== 0) throw new Error(`switchyard start: ${started.output}`);
  const api = `http://127.0.0.1:${port}/api/v1/lists/${encodeURIComponent(LIST)}/members?limit=${PAGE}`;
  const auth = { authorization: `Bearer ${token}` };

  // One walk to record the pages the floor will serve: the same bytes.
  const pages: string[] = [];
  let cursor: string | null = null;
  do {
    const response: Response = await fetch(`${api}${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`, { headers: auth });
    const text = await response.text();
    if (response.status !== 200) throw new Error(`HTTP ${response.status}: ${text}`);
    pages.push(text);
    cursor = (JSON.parse(text) as { next: string | null }).next;
  } while (cursor !== null);
  const pagesFile = join(home, 'floor-pages.json');
  await writeFile(pagesFile, JSON.stringify(pages));
  const floorServer = await startFloor(pagesFile);
  floor = floorServer.child;
  const floorBase = `http://127.0.0.1:${floorServer.port}/floor/`;

  report.section(`GET members, ${MEMBERS} members in pages of ${PAGE} (${pages.length} pages, ${Math.round(pages[0]!.length / 1024)} KiB each), ${CLIENTS} clients, ${ROUNDS} rounds of ${SECONDS} s`, [
    'API: the HTTP service of a running master (token, validation, store page query, JSON); floor: bare fastify, the same pages from memory, own process',
  ]);
  // Warm both (JIT, connections, SQLite page cache) before measuring.
  await load(1, (_page, next) => `${api}${next === null ? '' : `&cursor=${encodeURIComponent(next)}`}`, auth);
  await load(1, (page) => `${floorBase}${page}`, {});
  const values: number[] = [];
  const floors: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    values.push(await load(SECONDS, (_page, next) => `${api}${next === null ? '' : `&cursor=${encodeURIComponent(next)}`}`, auth));
    floors.push(await load(SECONDS, (page) => `${floorBase}${page}`, {}));
  }
  const ratios = values.map((value, i) => value / floors[i]!);
  report.row({ name: 'API member pages', unit: 'req/s', value: median(values), floor: median(floors), ratio: median(ratios), rounds: { value: values, floor: floors, ratio: ratios } });
  report.note(`members/s through the API: ${Math.round(median(values) * PAGE)}`);
} finally {
  floor?.kill('SIGTERM');
  await switchyardCli(home, 'stop');
  await removeDir(home);
}
await report.finish();
