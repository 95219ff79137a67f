/**
 * The one-click benchmark: RFC 8058 unsubscribe POSTs per second
 * (`POST /u/TOKEN`, body `List-Unsubscribe=One-Click`) against a real
 * master's HTTP service, each POST a different member of a list (so each
 * one is a real unsubscription: token check, one store write, the answer
 * page); beside it the floor, a bare fastify with form bodies in its own
 * process answering a constant page (http-one-click-floor-server.ts),
 * measured in the same run with the same clients. The difference is what
 * the service adds per POST: the HMAC check (and a stat of the secret
 * file), the member removal in SQLite, and the page.
 *
 *     npm run bench -- http-one-click
 *     node dist/test/bench/http-one-click.bench.js
 *
 * Scale with BENCH_ONE_CLICK_POSTS (POSTs per round, default 3000),
 * BENCH_CLIENTS (concurrent clients, default 8), BENCH_ROUNDS (default 3).
 * Figures are medians over rounds; the ratio the median of per-round ratios.
 *
 * Files: a fresh `switchyard-bench-*` home, removed at the end.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { unsubscribeToken } from '../../src/app/one-click.js';
import { SiteSecrets } from '../../src/http/site-secret.js';
import { openStore } from '../../src/store/index.js';
import { freePort } from '../support/net.js';
import { envInt, freshDir, median, removeDir, Report, switchyardCli } from './harness.js';

const POSTS = envInt('BENCH_ONE_CLICK_POSTS', 3000);
const CLIENTS = envInt('BENCH_CLIENTS', 8);
const ROUNDS = envInt('BENCH_ROUNDS', 3);
const WARM = 300;
const LIST = 'bench@lists.example.org';
const FLOOR_SERVER = fileURLToPath(new URL('./http-one-click-floor-server.js', import.meta.url));

const report = new Report('http-one-click');

/** POST every URL (CLIENTS at a time); POSTs per second, each answered 200. */
async function load(urls: readonly string[]): Promise<number> {
  let next = 0;
  const client = async (): Promise<void> => {
    while (next < urls.length) {
      const url = urls[next++]!;
      const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click' });
      const text = await response.text();
      if (response.status !== 200) throw new Error(`HTTP ${response.status}: ${text.slice(0, 300)}`);
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: CLIENTS }, client));
  return urls.length / ((performance.now() - started) / 1000);
}

async function startFloor(): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [FLOOR_SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`floor server exited ${code}`)));
  });
  return { child, port: Number(line) };
}

report.setting('POSTs per round', POSTS);
report.setting('clients', CLIENTS);
report.setting('rounds', ROUNDS);
report.printHeader();

const home = await freshDir('http-one-click');
let floor: ChildProcess | undefined;
try {
  const port = await freePort();
  await writeFile(join(home, 'switchyard.toml'), `[logging]\ndestination = "files"\nlevel = "warn"\n\n[runner.lmtp]\nenabled = false\n\n[smtp]\nprobeTimeout = 0\n\n[http]\nport = ${port}\n`);
  const total = WARM + POSTS * ROUNDS;
  const addresses = Array.from({ length: total }, (_, i) => `member${String(i).padStart(6, '0')}@example${i % 97}.org`);
  const store = openStore(home);
  try {
    await store.createList({ address: LIST });
    await store.addMembers(LIST, addresses.map((address) => ({ address })));
  } finally {
    await store.close();
  }
  // The secret the service will use (made now, read by the service at start).
  const secrets = SiteSecrets.load(home);
  const base = `http://127.0.0.1:${port}`;
  const urls = addresses.map((address) => `${base}/u/${unsubscribeToken(secrets, LIST, address)}`);
  const started = await switchyardCli(home, 'start');
  if (started.code !== 0) throw new Error(`switchyard start: ${started.output}`);
  const floorServer = await startFloor();
  floor = floorServer.child;
  const floorUrls = urls.slice(0, POSTS).map((url) => url.replace(base, `http://127.0.0.1:${floorServer.port}`));

  report.section(`POST /u/TOKEN (one-click unsubscribe), ${CLIENTS} clients, ${ROUNDS} rounds of ${POSTS} POSTs, each a different member of a ${total}-member list`, [
    'service: the HTTP service of a running master (HMAC check, member removed in SQLite, HTML page); floor: bare fastify + formbody, constant page, own process',
  ]);
  await load(urls.slice(0, WARM));
  await load(floorUrls.slice(0, WARM));
  const values: number[] = [];
  const floors: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    values.push(await load(urls.slice(WARM + round * POSTS, WARM + (round + 1) * POSTS)));
    floors.push(await load(floorUrls));
  }
  const ratios = values.map((value, i) => value / floors[i]!);
  report.row({ name: 'one-click unsubscribe POSTs', unit: 'req/s', value: median(values), floor: median(floors), ratio: median(ratios), rounds: { value: values, floor: floors, ratio: ratios } });
} finally {
  floor?.kill('SIGTERM');
  await switchyardCli(home, 'stop');
  await removeDir(home);
}
await report.finish();
