/**
 * Chaos: a chain of three runners (q1 -> q2 -> q3 -> done, two slices each,
 * each hop copying the entry: enqueue downstream, then finish) carries 10,000
 * entries while a loop SIGKILLs random runner processes at least 100 times.
 * At the end every entry has arrived and duplicates are at most the number of
 * kills: a kill between a hop's enqueue and its finish duplicates one entry,
 * and nothing else may.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { decodeEntry, Spool, Switchboard } from '../../queues/index.js';
import { builtInRunnersOff, makeHome, removeHome, runnerModule, schedulerOff, startMaster, testConfig, type LogLine, type MasterHandle } from './harness.js';

const ENTRIES = Number(process.env.CHAOS_ENTRIES ?? 10_000);
const KILLS = Number(process.env.CHAOS_KILLS ?? 100);
/** Kills in flight at once, on distinct runner processes (of the six). */
const KILLERS = 3;

let master: MasterHandle | undefined;
let home: string | undefined;

afterAll(async () => {
  await master?.stop();
  if (home) await removeHome(home);
});

function hop(name: string, queue: string, to: string): string {
  return `[runner.${name}]\nmodule = "${runnerModule('relay')}"\nqueue = "${queue}"\ninstances = 2\nmaxRestores = 1000\n[runner.${name}.options]\nto = "${to}"\n`;
}

it(`carries ${ENTRIES} entries through three hops while runners are SIGKILLed ${KILLS} times: none lost, duplicates <= kills`, async () => {
  // Only the chain's six processes: the built-in runners and the scheduler play no part in it, and each is
  // one more node process to start and stop.
  // The supervisor's restart path as it is (crash, backoff timer, fork), with a backoff of milliseconds:
  // each slot is killed some seventeen times, and a backoff doubling to 50 ms was a second or two of
  // nothing to do on the test's critical path, kill after kill.
  const config = testConfig(`${hop('hop1', 'q1', 'q2')}${hop('hop2', 'q2', 'q3')}${hop('hop3', 'q3', 'done')}${builtInRunnersOff()}\n${schedulerOff()}`, {
    maxRestarts: 1_000_000,
    restartBackoff: '"1ms"',
    restartBackoffMax: '"4ms"',
  })
    .replace('level = "debug"', 'level = "info"')
    .concat('\n[queues]\ndurability = "none"\n');
  const started = Date.now();
  /** When each phase ended, in seconds from the start: printed with the figures. */
  const phases: string[] = [];
  const phase = (name: string): void => void phases.push(`${name} ${((Date.now() - started) / 1000).toFixed(1)} s`);
  home = await makeHome(config);
  const root = join(home, 'queues');

  // The spool is filled while the master starts its six processes (seconds of node start-up each
  // side): the first kill still waits for both, so every entry is in the chain before it.
  const starting = startMaster(home);
  starting.catch(() => undefined); // awaited below, after the fill; a failed start must not go unhandled meanwhile
  const producer = new Switchboard({ root, name: 'q1', durability: 'none' });
  const batch: Promise<string>[] = [];
  for (let seq = 0; seq < ENTRIES; seq++) {
    batch.push(producer.enqueue(`Subject: chaos ${seq}\r\n\r\n${'x'.repeat(512)}\r\n`, { seq }));
    if (batch.length === 256) await Promise.all(batch.splice(0));
  }
  await Promise.all(batch);
  master = await starting;
  phase('filled and up');

  // Up to KILLERS kills at once, each on a different runner process: the 100 kills take a
  // third of the time one-by-one would, and several hops are down together, which the
  // chain must survive as well. Each victim is still a live, working process.
  //
  // The live hop processes are known from the master's own account: its status once (every
  // process is up when it says it is ready), then its log, which says "runner up" (pid and all)
  // when a process is back and ready, and "runner crashed" when one died. Not a status request
  // per kill: each counts every queue of the spool (thousands of names), a tenth of a second
  // of the master's CPU, a hundred times over.
  const live = new Map<string, number>();
  const keyOf = (runner: unknown, slice: unknown): string => `${String(runner)}/${String(slice)}`;
  for (const r of (await master.status()).runners) if (r.name.startsWith('hop') && r.state === 'running' && r.pid !== null) live.set(keyOf(r.name, r.slice), r.pid);
  expect(live.size).toBe(6);
  const track = (line: LogLine): boolean => {
    if (typeof line.runner !== 'string' || !line.runner.startsWith('hop') || typeof line.runnerPid !== 'number') return false;
    const key = keyOf(line.runner, line.slice);
    if (line.msg === 'runner up') live.set(key, line.runnerPid);
    else if (typeof line.msg === 'string' && line.msg.startsWith('runner crashed') && live.get(key) === line.runnerPid) live.delete(key);
    return false;
  };
  // Never matches: a listener for every line until the master exits (which rejects it; nothing waits on that).
  master.nextLine(track, 'the end of the log').catch(() => undefined);
  let kills = 0;
  const restarting = new Set<string>();
  const killer = async (): Promise<void> => {
    while (kills < KILLS) {
      const running = [...live].filter(([key]) => !restarting.has(key));
      if (running.length === 0) {
        await master!.nextLine((line) => line.msg === 'runner up', 'a runner back up');
        continue;
      }
      const [key, pid] = running[Math.floor(Math.random() * running.length)]!;
      const [name, slice] = key.split('/') as [string, string];
      restarting.add(key);
      // Registered before the kill: its "runner up" line cannot have been read yet.
      const back = master!.nextLine((line) => line.msg === 'runner up' && line.runner === name && line.slice === Number(slice) && line.runnerPid !== pid, `${key} restarted`);
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // It died on its own in between: no kill of ours. Wait for its successor, as after a kill.
        await back;
        restarting.delete(key);
        continue;
      }
      kills++;
      live.delete(key);
      // Kill it again only once it is back, so each kill lands on a live, working process.
      await back;
      restarting.delete(key);
    }
  };
  await Promise.all(Array.from({ length: KILLERS }, killer));
  phase('kills done');

  // Done when no hop holds an entry any more (q1..q3: no .pck, no .bak). Counting the three queues
  // is 768 directory listings: not at every arrival in `done` (thousands, when the kills are over
  // before the work), only once `done` has had ENTRIES arrivals (fewer cannot be success: nothing
  // takes from it), known from the watcher's names, or after half a second without one (work
  // stopped short: the checks below then say what is missing).
  const spool = new Spool({ root });
  const done = new Switchboard({ root, name: 'done', rescanIntervalMs: 500 });
  const watcher = await done.watch();
  try {
    let arrived = new Set(await done.files());
    let quiet = false;
    for (;;) {
      if (arrived.size >= ENTRIES || quiet) {
        const pending = await Promise.all(['q1', 'q2', 'q3'].map(async (q) => spool.count(q)));
        if (pending.every((c) => c.pck === 0 && c.bak === 0)) break;
      }
      quiet = (await watcher.wait()) === 'rescan';
      const { names, complete } = watcher.takeNames();
      if (complete) for (const name of names) arrived.add(name);
      else arrived = new Set(await done.files()); // events were dropped: list it
    }
  } finally {
    watcher.close();
  }

  phase('drained');

  // Every entry that arrived, decoded by the queue's own reader. Read synchronously: nothing else runs
  // now, and one async lstat/open/read/stat/read/close round per entry (Spool.entries) was seconds of
  // waiting on the thread pool, ten thousand times in a row.
  const seqs = new Map<number, number>();
  for (const { path } of await spool.switchboard('done').list()) {
    const seq = decodeEntry(readFileSync(path)).metadata.seq;
    expect(typeof seq).toBe('number');
    seqs.set(seq as number, (seqs.get(seq as number) ?? 0) + 1);
  }
  const missing = [];
  for (let seq = 0; seq < ENTRIES; seq++) if (!seqs.has(seq)) missing.push(seq);
  expect(missing).toEqual([]);
  const duplicates = [...seqs.values()].reduce((sum, n) => sum + n - 1, 0);
  expect(duplicates).toBeLessThanOrEqual(kills);
  expect((await spool.count('bad')).psv).toBe(0);
  expect((await spool.count('shunt')).pck).toBe(0);
  const status = await master.status();
  const restarts = status.runners.filter((r) => r.name.startsWith('hop')).reduce((sum, r) => sum + r.restarts, 0);
  expect(restarts).toBeGreaterThanOrEqual(kills);
  phase('checked');
  console.log(`chaos: ${ENTRIES} entries, ${kills} kills, ${duplicates} duplicates, ${restarts} restarts (${phases.join(', ')})`);
}, 600_000);
