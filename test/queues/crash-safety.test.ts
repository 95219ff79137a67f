/**
 * The switchboard's central promise: a process SIGKILLed at any moment loses
 * no acknowledged entry, never leaves a half-written entry visible, and at
 * worst processes an entry twice (once per kill). Children run the compiled
 * fixture test/fixtures/queue-crash-worker.ts; the parent SIGKILLs each one
 * just before its K-th call that changes the file system (create-open,
 * write, fdatasync, rename, directory fsync, unlink, mkdir:
 * test/fixtures/stop-at-call.ts), K walking over a schedule, so that the
 * kills land in every window between two such calls of enqueue, of
 * recovery, of dequeue-copy-finish and of moveTo, by construction. What a
 * SIGKILL leaves on disk depends only on which of those calls were made, so
 * any moment of the work is one of these windows. (Kills at a random 0-20 ms
 * after the child started working, as this test made them before, needed
 * several times as many child processes for a coverage that was only
 * likely.)
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeEntry, ENTRY_ID_PATTERN, parseEntryId, Switchboard, type DecodedEntry } from '../../queues/index.js';
import { payload } from '../fixtures/queue-payload.js';
import { FixturePool, killLiveChildren, makeTempDir, mapLimit, removeTempDir, walkFiles, type Child } from './harness.js';

/**
 * Where each enqueuer is stopped: its 1st, 4th, 7th, ... call. An enqueue is
 * five such calls (create-open of the temp file, write, fdatasync, rename,
 * directory fsync; the first enqueuer makes the shard directories before),
 * four at a time interleaved; a stride prime to five puts a kill before
 * each of the five (in varied interleavings) six times, and lets each
 * enqueuer acknowledge more entries than the last, a backlog for the
 * processors.
 */
const ENQUEUE_STOPS = Array.from({ length: 30 }, (_, i) => 1 + 3 * i);
/**
 * Where each processor is stopped: 1 to 24, twice. A processor that finds a
 * `.bak` (the previous one was killed with an entry in flight, as most are)
 * first restores it (five calls: temp open, write, fdatasync, rename over,
 * rename to `.pck`); then per entry: the dequeue rename, the copy into
 * `done` (five, and a mkdir for a new shard), the unlink that finishes it;
 * 24 reach into the third entry, so every window of recovery and of an
 * entry's processing gets a kill in each pass.
 */
const PROCESS_STOPS = [...Array.from({ length: 24 }, (_, i) => i + 1), ...Array.from({ length: 24 }, (_, i) => i + 1)];
/** The moveTo test's stops: recovery of the `.bak` the previous child left (a restore, or a cut-short move finished), then dequeue and moveTo (six or seven calls each), into the fourth entry. */
const MOVE_STOPS = Array.from({ length: 24 }, (_, i) => i + 1);
const ENQUEUE_KILLS = ENQUEUE_STOPS.length;
const PROCESS_KILLS = PROCESS_STOPS.length;
// The entry id pattern without its anchors and capture groups, to embed in other patterns.
const ID = ENTRY_ID_PATTERN.source.slice(1, -1).replace(/\((?!\?)/g, '(?:');
const ACK_LINE = new RegExp(`^ack (${ID}) (\\d+)$`);
const TEMP_FILE = new RegExp(`^(in|done|retry)/([0-9a-f]{2})/(${ID})\\.(pck|bak)\\.[0-9a-f]{12}\\.tmp$`);

/** Children started two ahead of need: the next ones start while one works (harness.ts FixturePool). */
const CHILDREN_AHEAD = 2;

let root: string;
let workers: FixturePool;
beforeEach(async () => {
  root = await makeTempDir();
  workers = new FixturePool('queue-crash-worker', CHILDREN_AHEAD);
});
afterEach(async () => {
  await killLiveChildren();
  await removeTempDir(root);
});

const isStop = (line: string): boolean => line.startsWith('stop ');

/** The child started with `--stop-at`: once it says it stopped before that call, SIGKILL it. Resolves true if the kill landed, false if the child had finished all its work first. */
async function killAtStop(child: Child): Promise<boolean> {
  const stopped = await child.waitForLine(isStop).then(
    () => true,
    () => false,
  );
  if (stopped) child.kill('SIGKILL');
  const exit = await child.exited;
  if (stopped ? exit.signal !== 'SIGKILL' : exit.code !== 0) throw new Error(`child failed on its own: ${JSON.stringify(exit)} ${child.stderr}`);
  return stopped;
}

/** What the child said of its work, without the stop line. */
function workLines(child: Child): string[] {
  return child.lines.filter((line) => !isStop(line));
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return false;
      throw error;
    },
  );
}

async function decodeFile(path: string): Promise<DecodedEntry> {
  return decodeEntry(await readFile(join(root, path)));
}

describe('crash safety under SIGKILL', () => {
  it(`loses no acknowledged entry, shows no partial file and duplicates at most one entry per kill, over ${ENQUEUE_KILLS + PROCESS_KILLS} kills in every window of enqueueing, recovering and processing`, async () => {
    const acked = new Map<string, number>(); // id -> seq
    const inQueue = new Switchboard({ root, name: 'in' });
    let enqueueCycles = 0;
    let enqueueKills = 0;
    let processKills = 0;
    let killsWithEntryInFlight = 0;
    let backlogEmpty = true;
    let rounds = 0;

    while (enqueueKills < ENQUEUE_KILLS || processKills < PROCESS_KILLS) {
      rounds++;
      expect(rounds, 'the kill loop makes progress').toBeLessThan(1000);
      if (enqueueKills < ENQUEUE_KILLS || backlogEmpty) {
        // Past the schedule (more backlog was needed), its stops again.
        const stop = ENQUEUE_STOPS[enqueueKills % ENQUEUE_KILLS]!;
        const child = workers.take(['--stop-at', String(stop), 'enqueue', root, 'crash', String(enqueueCycles++ * 1_000_000), '4', '1000000']);
        if (await killAtStop(child)) enqueueKills++;
        const fresh: string[] = [];
        for (const line of workLines(child)) {
          const match = ACK_LINE.exec(line);
          if (!match) throw new Error(`unexpected line from the enqueuer: ${JSON.stringify(line)}`);
          acked.set(match[1]!, Number(match[2]));
          fresh.push(match[1]!);
        }
        // Acknowledged means on disk, right after the kill: nothing has consumed these yet.
        const missing = (await Promise.all(fresh.map(async (id) => ((await exists(inQueue.path(id, 'pck'))) ? undefined : id)))).filter(Boolean);
        expect(missing, `acknowledged entries missing after enqueue kill ${enqueueKills}`).toEqual([]);
        backlogEmpty = false;
      }
      if (processKills < PROCESS_KILLS) {
        // A processor that drains the backlog before its stop is not a kill: the same stop is tried again after more enqueueing.
        const child = workers.take(['--stop-at', String(PROCESS_STOPS[processKills]!), 'process', root, '1000']);
        if (await killAtStop(child)) {
          processKills++;
          if (workLines(child).at(-1)?.startsWith('took ')) killsWithEntryInFlight++;
        }
        if (child.lines.includes('drained')) backlogEmpty = true;
      }
    }

    // One last consumer, left alone, finishes the work.
    const last = workers.take(['process', root, '1000']);
    await last.succeeded();
    expect(last.lines.at(-1)).toBe('drained');

    const files = await walkFiles(root);
    const byKind = (suffix: string) => files.filter((path) => path.endsWith(suffix));

    // Nothing is left in flight, waiting or quarantined.
    expect(byKind('.bak')).toEqual([]);
    expect(files.filter((path) => path.startsWith('in/') && !path.endsWith('.tmp'))).toEqual([]);
    expect(files.filter((path) => path.startsWith('bad/'))).toEqual([]);
    expect(files.filter((path) => !path.endsWith('.pck') && !path.endsWith('.psv') && !path.endsWith('.tmp'))).toEqual([]);

    // No visible entry is partial: every .pck and .psv decodes, and carries the payload its seq names.
    const done = new Map<string, number>(); // original id -> copies
    const broken: string[] = [];
    await mapLimit([...byKind('.pck'), ...byKind('.psv')], 32, async (path) => {
      let entry: DecodedEntry;
      try {
        entry = await decodeFile(path);
      } catch (error) {
        broken.push(`${path}: ${(error as Error).message}`);
        return;
      }
      const { originalId, seq, tag } = entry.metadata;
      if (typeof originalId !== 'string' || typeof seq !== 'number' || tag !== 'crash' || !entry.message.equals(payload('crash', seq))) {
        broken.push(`${path}: wrong content`);
        return;
      }
      if (acked.has(originalId) && acked.get(originalId) !== seq) broken.push(`${path}: copy of ${originalId} has seq ${seq}`);
      done.set(originalId, (done.get(originalId) ?? 0) + 1);
    });
    expect(broken).toEqual([]);
    expect(files.filter((path) => path.endsWith('.pck') && !path.startsWith('done/'))).toEqual([]);

    // Every acknowledged entry was processed; the kills caused at most one duplicate each.
    expect(acked.size).toBeGreaterThan(PROCESS_KILLS);
    expect([...acked.keys()].filter((id) => !done.has(id))).toEqual([]);
    const duplicates = [...done.values()].reduce((sum, copies) => sum + copies - 1, 0);
    expect(duplicates).toBeLessThanOrEqual(processKills);
    // Tighter: a duplicate needs a kill between an entry's `took` and its `fin`.
    expect(duplicates).toBeLessThanOrEqual(killsWithEntryInFlight);
    // And the kills did land there, so the bound above was put to the test.
    expect(killsWithEntryInFlight).toBeGreaterThanOrEqual(20);

    // Temp files are a killed writer's, each beside the entry it was writing, and cleanup removes them all.
    const temps = byKind('.tmp');
    const misplaced = temps.filter((path) => {
      const match = TEMP_FILE.exec(path);
      if (!match) return true;
      const [, queue, shard, id, state] = match;
      if (shard !== parseEntryId(id!).sha1.slice(0, 2)) return true;
      // Enqueues write beside the new .pck (in, done); only recovery rewrites a .bak (in).
      return queue === 'retry' || (state === 'bak' && queue !== 'in');
    });
    expect(misplaced).toEqual([]);
    const removed =
      (await new Switchboard({ root, name: 'in' }).removeStaleTemps(0)) + (await new Switchboard({ root, name: 'done' }).removeStaleTemps(0));
    expect(removed).toBe(temps.length);
    expect((await walkFiles(root)).filter((path) => path.endsWith('.tmp'))).toEqual([]);

    console.info(
      `crash safety: ${enqueueKills} enqueue kills, ${processKills} process kills in ${rounds} rounds; ` +
        `${killsWithEntryInFlight} with an entry between took and fin; ` +
        `${acked.size} acked, ${done.size} processed, ${duplicates} duplicates, ${temps.length} temp files`,
    );
    // No limit of its own: 80+ child processes one after another take a minute on a loaded
    // machine, and vitest.config.ts's testTimeout is the ceiling for that.
  });

  it('keeps every entry in exactly one place while moveTo() is killed in every window of its calls and of recovery', async () => {
    const inQueue = new Switchboard({ root, name: 'in', durability: 'none' });
    const total = 300;
    const ids = await mapLimit(Array.from({ length: total }, (_, seq) => seq), 16, (seq) => inQueue.enqueue(payload('move', seq), { seq }));
    const idSet = new Set(ids);

    const checkExactlyOnce = async (): Promise<void> => {
      const places = new Map<string, string[]>();
      for (const path of await walkFiles(root)) {
        if (path.endsWith('.tmp')) continue;
        const name = path.split('/').at(-1)!;
        const id = name.slice(0, -4);
        expect(idSet.has(id), `unknown file ${path}`).toBe(true);
        places.set(id, [...(places.get(id) ?? []), path]);
      }
      const wrong = ids.filter((id) => places.get(id)?.length !== 1).map((id) => `${id}: ${JSON.stringify(places.get(id) ?? [])}`);
      expect(wrong).toEqual([]);
    };

    let kills = 0;
    for (let cycle = 0; kills < MOVE_STOPS.length; cycle++) {
      expect(cycle, 'entries left to move while killing').toBeLessThan(200);
      const child = workers.take(['--stop-at', String(MOVE_STOPS[kills]!), 'move', root]);
      if (await killAtStop(child)) kills++;
      await checkExactlyOnce();
      if (child.lines.includes('drained')) break;
    }
    const last = workers.take(['move', root]);
    await last.succeeded();
    await checkExactlyOnce();

    const retry = new Switchboard({ root, name: 'retry' });
    expect(new Set(await retry.files())).toEqual(idSet);
    const wrong = (
      await mapLimit(ids, 32, async (id) => {
        const entry = decodeEntry(await readFile(retry.path(id, 'pck')));
        const seq = entry.metadata.seq as number;
        return entry.message.equals(payload('move', seq)) && entry.control.originalQueue === 'in' ? undefined : id;
      })
    ).filter((id) => id !== undefined);
    expect(wrong).toEqual([]);
    expect(kills).toBeGreaterThan(0);
  });
});
