/**
 * Chaos: a chain of three runners (q1 -> q2 -> q3 -> done, two slices each,
 * each hop copying the entry: enqueue downstream, then finish) carries 10,000
 * entries while a loop SIGKILLs random runner processes at least 100 times.
 * At the end every entry has arrived and duplicates are at most the number of
 * kills: a kill between a hop's enqueue and its finish duplicates one entry,
 * and nothing else may.
 */
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { Spool, Switchboard } from '../../queues/index.js';
import { makeHome, removeHome, runnerModule, startMaster, testConfig, type MasterHandle } from './harness.js';

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
  const config = testConfig(`${hop('hop1', 'q1', 'q2')}${hop('hop2', 'q2', 'q3')}${hop('hop3', 'q3', 'done')}`, { maxRestarts: 1_000_000, restartBackoff: '"5ms"', restartBackoffMax: '"50ms"' })
    .replace('level = "debug"', 'level = "info"')
    .concat('\n[queues]\ndurability = "none"\n');
  home = await makeHome(config);
  master = await startMaster(home);
  const root = join(home, 'queues');

  const producer = new Switchboard({ root, name: 'q1', durability: 'none' });
  const batch: Promise<string>[] = [];
  for (let seq = 0; seq < ENTRIES; seq++) {
    batch.push(producer.enqueue(`Subject: chaos ${seq}\r\n\r\n${'x'.repeat(512)}\r\n`, { seq }));
    if (batch.length === 256) await Promise.all(batch.splice(0));
  }
  await Promise.all(batch);

  // Up to KILLERS kills at once, each on a different runner process: the 100 kills take a
  // third of the time one-by-one would, and several hops are down together, which the
  // chain must survive as well. Each victim is still a live, working process.
  let kills = 0;
  const restarting = new Set<string>();
  const killer = async (): Promise<void> => {
    while (kills < KILLS) {
      const running = (await master!.status()).runners.filter(
        (r) => r.name.startsWith('hop') && r.state === 'running' && r.pid !== null && !restarting.has(`${r.name}/${r.slice}`),
      );
      if (kills >= KILLS) break;
      if (running.length === 0) {
        await master!.nextLine((line) => line.msg === 'runner up', 'a runner back up');
        continue;
      }
      const victim = running[Math.floor(Math.random() * running.length)]!;
      const key = `${victim.name}/${victim.slice}`;
      try {
        process.kill(victim.pid!, 'SIGKILL');
      } catch {
        continue; // it died on its own in between (or this status was stale); pick another
      }
      kills++;
      restarting.add(key);
      // Registered in the same tick as the kill: its "runner up" line cannot have been read yet.
      const back = master!.nextLine((line) => line.msg === 'runner up' && line.runner === victim.name && line.slice === victim.slice, `${victim.name} ${victim.slice} restarted`);
      // Kill it again only once it is back, so each kill lands on a live, working process.
      await back;
      restarting.delete(key);
    }
  };
  await Promise.all(Array.from({ length: KILLERS }, killer));

  const spool = new Spool({ root });
  const done = new Switchboard({ root, name: 'done', rescanIntervalMs: 500 });
  const watcher = await done.watch();
  try {
    for (;;) {
      const pending = await Promise.all(['q1', 'q2', 'q3'].map(async (q) => spool.count(q)));
      if (pending.every((c) => c.pck === 0 && c.bak === 0)) break;
      await watcher.wait();
    }
  } finally {
    watcher.close();
  }

  const seqs = new Map<number, number>();
  for (const entry of await spool.entries('done')) {
    const seq = entry.metadata?.seq;
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
  console.log(`chaos: ${ENTRIES} entries, ${kills} kills, ${duplicates} duplicates, ${restarts} restarts`);
}, 600_000);
