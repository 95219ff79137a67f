/**
 * The incoming benchmark: 4 KiB posts from a member to a 1,000-member list,
 * waiting on `in` when a real incoming runner (runners/incoming.ts, in this
 * process, concurrency 2, a 2-thread parse pool, info logging to a file)
 * starts; each goes through the posting chain (mailparser in the pool, store
 * lookups) and the list's default pipeline and is forwarded to `out` with
 * its 1,000 recipients. Queue durability fsync.
 *
 * - posts/s: from the runner's first entry-start to its last entry-end,
 *   against the floor measured in the same run: the same entries, on a fresh
 *   spool, taken and moved on by the bare fs calls the runner cannot do
 *   without (runFloor: read the entry; write and fdatasync the archive copy
 *   and the out entry together, fsync the archive directory; rename the out
 *   entry into `out`), as many at a time as the runner. Ratio = runner / floor.
 * - CPU ms per post: the process's CPU time (every thread: the pool too)
 *   over the runner's run, divided by the posts.
 * - pipeline CPU ms per post: runPipeline alone on the same post, in a loop
 *   (the handlers, to-outgoing's member read, the archive enqueue).
 *
 *     node dist/test/bench/incoming.bench.js [--dir <path>]
 *
 * Scale with BENCH_INCOMING_POSTS (500), BENCH_INCOMING_ROUNDS (3), BENCH_INCOMING_CONCURRENCY
 * (2, the runner's default). BENCH_STORE=postgres runs the runner and the pipeline on a PostgreSQL
 * store (a private durable cluster on loopback, fsync on, started and removed by the benchmark; a
 * fresh migrated database per phase) instead of the home's SQLite file; the floor touches no store.
 * Files: a fresh `switchyard-bench-incoming-*` home per phase, removed after it.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, constants, fdatasync, fsync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { basename, dirname, join } from 'node:path';
import pino from 'pino';
import { encodeEntry, Switchboard, type EntryControl, type JsonObject } from '../../queues/index.js';
import IncomingRunner from '../../runners/incoming.js';
import { runPipeline, type PipelineContext } from '../../runners/incoming/pipeline.js';
import { TaskPool } from '../../runners/task-pool.js';
import { RawMessage } from '../../src/mail/raw-message.js';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { openStore, type Store } from '../../src/store/index.js';
import { migratePostgres } from '../../src/store/postgres-migrate.js';
import { startPostgres, type PostgresCluster } from '../support/postgres.js';
import { mapLimit } from '../queues/harness.js';
import { envInt, freshDir, median, removeDir, Report, syncDisks } from './harness.js';

const POSTS = envInt('BENCH_INCOMING_POSTS', 500);
const ROUNDS = envInt('BENCH_INCOMING_ROUNDS', 3);
const MEMBERS = 1_000;
const CONCURRENCY = envInt('BENCH_INCOMING_CONCURRENCY', 2);
const LIST = 'bench@lists.example.org';

const BACKEND = process.env['BENCH_STORE'] === 'postgres' ? 'postgres' : 'sqlite';
const report = new Report(BACKEND === 'postgres' ? 'incoming-postgres' : 'incoming');
const cluster: PostgresCluster | undefined = BACKEND === 'postgres' ? await startPostgres({ durable: true }) : undefined;

function post(i: number): Buffer {
  const head = [
    'From: Member Zero <member0@example.com>',
    `To: Bench <${LIST}>`,
    `Subject: benchmark post ${i}`,
    'Date: Tue, 14 May 2024 09:12:33 +0200',
    `Message-ID: <bench-${i}-${Date.now()}@example.com>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 8bit',
  ].join('\r\n');
  const line = 'The quick brown fox jumps over the lazy dog, again and again.\r\n';
  return Buffer.from(`${head}\r\n\r\n${line.repeat(Math.ceil((4096 - head.length) / line.length))}`.slice(0, 4096));
}

function members(): string[] {
  return Array.from({ length: MEMBERS }, (_, i) => `member${i}@example.com`);
}

/** A fresh home with the list; on PostgreSQL a fresh migrated database and the configuration that names it. */
async function prepareHome(label: string): Promise<{ dir: string; store: Store; config?: Config }> {
  const dir = await freshDir(label);
  let config: Config | undefined;
  let url: string | undefined;
  if (cluster !== undefined) {
    url = await cluster.database();
    await migratePostgres(url);
    await writeFile(join(dir, 'switchyard.toml'), `[store]\nurl = "${url}"\n`);
    ({ config } = await loadConfig(join(dir, 'switchyard.toml')));
  }
  const store = openStore(dir, url === undefined ? {} : { url });
  await store.createList({ address: LIST });
  await store.addMembers(LIST, members().map((address) => ({ address })));
  return { dir, store, ...(config === undefined ? {} : { config }) };
}

async function fillIn(dir: string): Promise<string[]> {
  const inQueue = new Switchboard({ root: join(dir, 'queues'), name: 'in', durability: 'fsync' });
  const ids: string[] = [];
  for (let i = 0; i < POSTS; i++) {
    ids.push(
      await inQueue.enqueue(post(i), { listId: LIST, envelopeSender: 'member0@example.com', envelopeRecipient: LIST, receivedAt: new Date().toISOString(), receivedVia: 'inject' }),
    );
  }
  return ids;
}

/** The shard directories of `out` and `archive`, made before either clock starts. */
async function makeShardDirectories(root: string): Promise<void> {
  for (const queue of ['out', 'archive']) for (let byte = 0; byte < 256; byte++) await mkdir(join(root, queue, byte.toString(16).padStart(2, '0')), { recursive: true });
}

interface Measured {
  postsPerSecond: number;
  cpuMsPerPost: number;
}

async function runRunner(): Promise<Measured> {
  const { dir, store, config } = await prepareHome('incoming');
  try {
    await fillIn(dir);
    // On a running site the outgoing and archive runners made their queues'
    // shard directories when they started; the floor makes them too.
    await makeShardDirectories(join(dir, 'queues'));
    syncDisks();
    const destination = pino.destination({ dest: join(dir, 'incoming.log'), sync: false });
    const runner = new IncomingRunner({
      name: 'incoming',
      queue: 'in',
      slice: 0,
      numSlices: 1,
      spoolRoot: join(dir, 'queues'),
      concurrency: CONCURRENCY,
      durability: 'fsync',
      maxRestores: 3,
      rescanIntervalMs: 3_600_000,
      tempMaxAgeMs: 3_600_000,
      retry: { initialDelayMs: 60_000, maxDelayMs: 3_600_000, jitter: 0, lifetimeMs: 86_400_000 },
      logger: pino({ level: 'info' }, destination),
      pool: new TaskPool({ maxThreads: 2, taskTimeoutMs: 30_000 }),
      options: {},
      home: dir,
      ...(config === undefined ? {} : { config }),
    });
    let first = 0;
    let cpuStart = process.cpuUsage();
    let ended = 0;
    let forwarded = 0;
    const done = new Promise<number>((resolve) => {
      runner.on('entry-start', () => {
        if (first === 0) {
          first = performance.now();
          cpuStart = process.cpuUsage();
        }
      });
      runner.on('entry-end', (_id: string, outcome: string) => {
        ended++;
        if (outcome === 'forwarded') forwarded++;
        if (ended === POSTS) resolve(performance.now());
      });
    });
    const running = runner.run();
    const last = await done;
    const cpu = process.cpuUsage(cpuStart);
    await runner.stop();
    await running;
    destination.flushSync();
    destination.end();
    if (forwarded !== POSTS) throw new Error(`only ${forwarded} of ${POSTS} posts reached out`);
    return { postsPerSecond: POSTS / ((last - first) / 1000), cpuMsPerPost: (cpu.user + cpu.system) / 1000 / POSTS };
  } finally {
    await store.close();
    await removeDir(dir);
  }
}

/**
 * The floor: what the runner must do to the disk for each post, in bare fs
 * calls (no switchboard, no runner; the fsyncs on the thread pool, the rest
 * synchronous): rename the entry from `.pck` to `.bak`
 * and read it; write and fdatasync the archive copy (a temp file renamed into
 * a shard directory of `archive`, that directory fsynced) and, at the same
 * time, the out entry (a temp file beside the `.bak`); then rename it over
 * the `.bak` and into `out`. The files' bytes (the same message, the out
 * entry with its 1,000 recipients) are made before the clock starts. Same
 * concurrency as the runner.
 */
async function runFloor(): Promise<number> {
  const { dir, store } = await prepareHome('incoming-floor');
  try {
    await fillIn(dir);
    const root = join(dir, 'queues');
    const listed = await new Switchboard({ root, name: 'in' }).list(['pck']);
    const outMetadata: JsonObject = { listId: LIST, sender: 'bench-bounces@lists.example.org', recipients: members(), listPosting: LIST, chain: { rule: 'end-of-chain', action: 'accept', reason: 'no rule held the post', at: new Date().toISOString() } };
    const control = { restores: 0, movedAt: new Date().toISOString() } as unknown as EntryControl;
    const jobs = listed.map(({ id, path }, i) => {
      const message = post(i);
      const shard = basename(dirname(path));
      return {
        bak: path.replace(/\.pck$/, '.bak'),
        pck: path,
        out: join(root, 'out', shard, `${id}.pck`),
        archiveDir: join(root, 'archive', randomBytes(1).toString('hex')),
        archiveName: `${id}.pck`,
        archiveBytes: Buffer.concat(encodeEntry({ listId: LIST, envelopeSender: 'member0@example.com', receivedAt: new Date().toISOString() }, control, message)),
        outBytes: Buffer.concat(encodeEntry(outMetadata, control, message)),
      };
    });
    await makeShardDirectories(root);
    syncDisks();
    const started = performance.now();
    await mapLimit(jobs, CONCURRENCY, async (job) => {
      renameSync(job.pck, job.bak);
      readFileSync(job.bak);
      const archiveTemp = join(job.archiveDir, `${job.archiveName}.tmp`);
      const outTemp = `${job.bak}.tmp`;
      await Promise.all([
        (async () => {
          await writeDurably(archiveTemp, job.archiveBytes);
          renameSync(archiveTemp, join(job.archiveDir, job.archiveName));
          await fsyncDirectory(job.archiveDir);
        })(),
        writeDurably(outTemp, job.outBytes),
      ]);
      renameSync(outTemp, job.bak);
      renameSync(job.bak, job.out);
    });
    return POSTS / ((performance.now() - started) / 1000);
  } finally {
    await store.close();
    await removeDir(dir);
  }
}

const fdatasyncAsync = promisify(fdatasync);
const fsyncAsync = promisify(fsync);

/**
 * open, write, fdatasync, close: a new file's content on the disk. Only the
 * call that waits for the disk goes to the thread pool: the others take
 * microseconds, and behind a pool busy with fsyncs they would wait for them.
 */
async function writeDurably(path: string, bytes: Buffer): Promise<void> {
  const fd = openSync(path, 'wx', 0o660);
  try {
    writeSync(fd, bytes);
    await fdatasyncAsync(fd);
  } finally {
    closeSync(fd);
  }
}

async function fsyncDirectory(path: string): Promise<void> {
  const fd = openSync(path, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await fsyncAsync(fd);
  } finally {
    closeSync(fd);
  }
}

async function pipelineCpu(): Promise<number> {
  const { dir, store } = await prepareHome('incoming-pipeline');
  try {
    const list = await store.getList(LIST);
    const archive = new Switchboard({ root: join(dir, 'queues'), name: 'archive', durability: 'fsync' });
    const log = pino({ level: 'warn' });
    const samples = Math.min(POSTS, 300);
    const start = process.cpuUsage();
    for (let i = 0; i < samples; i++) {
      const ctx: PipelineContext = {
        list,
        message: RawMessage.parse(post(i)),
        metadata: { listId: LIST, envelopeSender: 'member0@example.com' },
        store,
        log,
        now: Date.now,
        enqueue: async (queue, message, metadata) => {
          if (queue === 'archive') await archive.enqueue(message, metadata);
        },
      };
      await runPipeline(ctx, list.settings.postingPipeline);
      if (ctx.outgoing === undefined) throw new Error('the pipeline produced no out entry');
      ctx.message.toBuffer();
    }
    const cpu = process.cpuUsage(start);
    return (cpu.user + cpu.system) / 1000 / samples;
  } finally {
    await store.close();
    await removeDir(dir);
  }
}

report.setting('posts per round', POSTS);
report.setting('rounds', ROUNDS);
report.setting('post size', '4 KiB');
report.setting('members', MEMBERS);
report.setting('runner concurrency', CONCURRENCY);
report.setting('durability', 'fsync');
report.setting('store', BACKEND === 'postgres' ? 'PostgreSQL (private cluster on loopback, fsync on)' : 'SQLite (the home\'s file)');
report.printHeader();

report.section('posts through the incoming runner to out', ['floor: the same entries, in bare fs calls: .pck to .bak and read, archive copy and out entry written and fdatasynced together (archive directory fsynced), out renamed over .bak and into out; same concurrency, same run']);
const values: number[] = [];
const floors: number[] = [];
const ratios: number[] = [];
const cpus: number[] = [];
for (let round = 0; round < ROUNDS; round++) {
  const floor = await runFloor();
  const measured = await runRunner();
  values.push(measured.postsPerSecond);
  floors.push(floor);
  ratios.push(measured.postsPerSecond / floor);
  cpus.push(measured.cpuMsPerPost);
  report.note(`round ${round + 1}: ${measured.postsPerSecond.toFixed(1)} posts/s, floor ${floor.toFixed(1)}/s, ${measured.cpuMsPerPost.toFixed(2)} CPU ms/post`);
}
report.row({ name: 'posts/s, 4 KiB, 1,000 members, fsync', unit: '/s', value: median(values), floor: median(floors), ratio: median(ratios), rounds: { value: values, floor: floors, ratio: ratios } });
report.row({ name: 'runner CPU per post (all threads)', unit: 'ms', value: median(cpus), rounds: { value: cpus } });

report.section('the pipeline alone', ['runPipeline on the same post, the default handlers, in a loop in this process']);
const pipelineMs = await pipelineCpu();
report.row({ name: 'pipeline CPU per post', unit: 'ms', value: pipelineMs });

await report.finish();
await cluster?.destroy();
