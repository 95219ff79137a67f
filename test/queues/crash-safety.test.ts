/**
 * The switchboard's central promise: a process SIGKILLed at any moment loses
 * no acknowledged entry, never leaves a half-written entry visible, and at
 * worst processes an entry twice (once per kill). Children run the compiled
 * fixture test/fixtures/queue-crash-worker.ts; the parent kills each one a
 * random 0-20 ms after it said it was at work.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeEntry, ENTRY_ID_PATTERN, parseEntryId, Switchboard, type DecodedEntry } from '../../queues/index.js';
import { payload } from '../fixtures/queue-payload.js';
import { killLiveChildren, makeTempDir, mapLimit, randomInt, removeTempDir, startFixture, walkFiles, type Child } from './harness.js';

const ENQUEUE_KILLS = 100;
const PROCESS_KILLS = 100;
const MAX_KILL_DELAY_MS = 20;
// The entry id pattern without its anchors and capture groups, to embed in other patterns.
const ID = ENTRY_ID_PATTERN.source.slice(1, -1).replace(/\((?!\?)/g, '(?:');
const ACK_LINE = new RegExp(`^ack (${ID}) (\\d+)$`);
const TEMP_FILE = new RegExp(`^(in|done|retry)/([0-9a-f]{2})/(${ID})\\.(pck|bak)\\.[0-9a-f]{12}\\.tmp$`);

let root: string;
beforeEach(async () => {
  root = await makeTempDir();
});
afterEach(async () => {
  await killLiveChildren();
  await removeTempDir(root);
});

/**
 * Let the child get to work (until it prints a line `atWork` accepts), then
 * SIGKILL it after a random 0-20 ms. Resolves true if the kill landed, false
 * if the child had finished first.
 */
async function killMidWork(child: Child, atWork: (line: string) => boolean = () => true): Promise<boolean> {
  await child.waitForLine(atWork);
  await delay(randomInt(MAX_KILL_DELAY_MS + 1));
  child.kill('SIGKILL');
  const exit = await child.exited;
  if (exit.signal !== 'SIGKILL' && exit.code !== 0) throw new Error(`child failed on its own: ${JSON.stringify(exit)} ${child.stderr}`);
  return exit.signal === 'SIGKILL';
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
  it('loses no acknowledged entry, shows no partial file and duplicates at most one entry per kill, over 200 random kills while enqueueing and processing', async () => {
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
        const child = startFixture('queue-crash-worker', ['enqueue', root, 'crash', String(enqueueCycles++ * 1_000_000), '4', '1000000']);
        if (await killMidWork(child)) enqueueKills++;
        const fresh: string[] = [];
        for (const line of child.lines) {
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
        const child = startFixture('queue-crash-worker', ['process', root, '1000']);
        // Mostly kill while entries are being processed; one cycle in four from the start, to hit recovery too.
        const fromStart = rounds % 4 === 0;
        if (await killMidWork(child, (line) => fromStart || line.startsWith('took ') || line === 'drained')) {
          processKills++;
          if (child.lines.at(-1)?.startsWith('took ')) killsWithEntryInFlight++;
        }
        if (child.lines.includes('drained')) backlogEmpty = true;
      }
    }

    // One last consumer, left alone, finishes the work.
    const last = startFixture('queue-crash-worker', ['process', root, '1000']);
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
    // No limit of its own: 200+ child processes one after another take minutes on a loaded
    // machine, and vitest.config.ts's testTimeout is the ceiling for that (170 s timed out under load).
  });

  it('keeps every entry in exactly one place while moveTo() is killed at random moments', async () => {
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
    for (let cycle = 0; kills < 40; cycle++) {
      expect(cycle, 'entries left to move while killing').toBeLessThan(200);
      const child = startFixture('queue-crash-worker', ['move', root]);
      if (await killMidWork(child)) kills++;
      await checkExactlyOnce();
      if (child.lines.includes('drained')) break;
    }
    const last = startFixture('queue-crash-worker', ['move', root]);
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
