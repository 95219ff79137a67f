/**
 * The member import over HTTP: a 100,000-row member file sent to
 * `POST /api/v1/lists/LIST/members/import` of a running master's HTTP
 * service (site administrator's token; the answer's NDJSON read to its
 * `done` line), beside its floor, the same import through the application
 * function directly in this process: importMembers() (src/app/membership.ts)
 * with the options the route uses (the same lines, 1000 rows per batch),
 * into the same home's store. The difference is what HTTP adds: sending the
 * body, the token check, reading the body as text, and writing a progress
 * line per batch.
 *
 *     npm run bench -- http-members-import
 *     node dist/test/bench/http-members-import.bench.js
 *
 * Scale with BENCH_MEMBERS (default 100000) and BENCH_ROUNDS (default 3).
 * Each round imports into two fresh lists (one each way), in rotating order;
 * figures are medians over rounds, the ratio the median of per-round ratios.
 *
 * Files: a fresh `switchyard-bench-*` home, removed at the end.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createApiToken } from '../../src/app/api-tokens.js';
import { importMembers } from '../../src/app/membership.js';
import { bodyLines, IMPORT_PROGRESS_ROWS } from '../../src/http/routes/member-import.js';
import { countMemberRows } from '../../src/store/member-import.js';
import { openStore } from '../../src/store/index.js';
import { freePort } from '../support/net.js';
import { envInt, freshDir, median, removeDir, Report, switchyardCli, syncDisks } from './harness.js';

const MEMBERS = envInt('BENCH_MEMBERS', 100_000);
const ROUNDS = envInt('BENCH_ROUNDS', 3);

const report = new Report('http-members-import');

/** The member file: a header naming three columns, then half the rows with a quoted name holding a comma. */
function memberFile(): string {
  const lines = ['address,name,delivery_mode'];
  for (let i = 0; i < MEMBERS; i++) lines.push(i % 2 === 0 ? `subscriber.${i}@Example${i % 211}.ORG,,` : `subscriber.${i}@example${i % 211}.org,"Subscriber, Number ${i}",${i % 10 === 1 ? 'mime' : 'regular'}`);
  return `${lines.join('\n')}\n`;
}

async function timeHttp(api: string, token: string, list: string, text: string): Promise<number> {
  const started = performance.now();
  const response = await fetch(`${api}/lists/${encodeURIComponent(list)}/members/import`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'text/csv' }, body: text });
  const body = await response.text();
  const seconds = (performance.now() - started) / 1000;
  if (response.status !== 200) throw new Error(`HTTP ${response.status}: ${body.slice(0, 500)}`);
  const done = JSON.parse(body.trimEnd().split('\n').at(-1)!) as { type: string; added: number };
  if (done.type !== 'done' || done.added !== MEMBERS) throw new Error(`HTTP import ended ${JSON.stringify(done)}`);
  return seconds;
}

async function timeFloor(home: string, list: string, text: string): Promise<number> {
  const store = openStore(home);
  try {
    const started = performance.now();
    const lines = bodyLines(text);
    const result = await importMembers({ store }, list, async () => lines, { batchSize: IMPORT_PROGRESS_ROWS, total: countMemberRows(lines), onProgress: () => undefined, onInvalid: () => undefined });
    const seconds = (performance.now() - started) / 1000;
    if (result.added !== MEMBERS) throw new Error(`app import added ${result.added}`);
    return seconds;
  } finally {
    await store.close();
  }
}

report.setting('members', MEMBERS);
report.setting('rounds', ROUNDS);
report.printHeader();

const home = await freshDir('http-members-import');
try {
  const port = await freePort();
  await writeFile(join(home, 'switchyard.toml'), `[logging]\ndestination = "files"\nlevel = "warn"\n\n[runner.lmtp]\nenabled = false\n\n[smtp]\nprobeTimeout = 0\n\n[http]\nport = ${port}\nrequestTimeout = "5m"\n`);
  const store = openStore(home);
  let token: string;
  try {
    for (let round = 0; round < ROUNDS; round++) for (const way of ['http', 'app']) await store.createList({ address: `${way}${round}@lists.example.org` });
    token = (await createApiToken({ store, now: () => new Date() }, { name: 'bench', role: 'admin' })).token;
  } finally {
    await store.close();
  }
  const started = await switchyardCli(home, 'start');
  if (started.code !== 0) throw new Error(`switchyard start: ${started.output}`);
  const api = `http://127.0.0.1:${port}/api/v1`;
  const text = memberFile();
  report.section(`import ${MEMBERS} members (CSV with a header, half with quoted names) into an empty list, ${ROUNDS} rounds`, [
    `HTTP: POST ${(text.length / 1048576).toFixed(1)} MiB of text/csv to a running master's HTTP service, NDJSON read to its done line`,
    'floor: importMembers() (the application function the route calls) in this process, same lines, same batches of 1000, same store',
  ]);
  const http: number[] = [];
  const floor: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const phases = [async () => void http.push(await timeHttp(api, token, `http${round}@lists.example.org`, text)), async () => void floor.push(await timeFloor(home, `app${round}@lists.example.org`, text))];
    for (let i = 0; i < phases.length; i++) {
      syncDisks();
      await phases[(round + i) % phases.length]!();
    }
  }
  const ratios = http.map((value, i) => value / floor[i]!);
  report.row({ name: 'HTTP import (POST .../members/import)', unit: 's', value: median(http), floor: median(floor), ratio: median(ratios), rounds: { value: http, floor, ratio: ratios } });
  report.row({ name: 'floor: importMembers() in process', unit: 's', value: median(floor), rounds: { value: floor } });
  report.note(`rows/s: HTTP ${Math.round(MEMBERS / median(http))}, floor ${Math.round(MEMBERS / median(floor))}`);
} finally {
  await switchyardCli(home, 'stop');
  await removeDir(home);
}
await report.finish();
