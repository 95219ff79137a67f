/**
 * CPU-heavy steps through ctx.runTask and a real piscina pool: a task past
 * its time limit or a worker that dies fails only its own entry (to shunt,
 * with the error class that says which), and the runner goes on.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { TaskCrashedError, TaskTimeoutError } from '../../runners/errors.js';
import { TaskPool } from '../../runners/task-pool.js';
import { cleanup, compiledFixture, makeSpool, runnerOptions, ScriptedRunner, startRunner, type Spool } from './harness.js';

afterEach(cleanup);

const TIMEOUT = 120_000;

/** Like test/fixtures/runners/pool-task.ts: the message says what the worker does (`spin`, `crash`, `ok`). */
function poolRunner(spool: Spool, timeoutMs: number): ScriptedRunner {
  const worker = compiledFixture('pool-worker');
  return new ScriptedRunner(
    runnerOptions(spool, { name: 'pooled', pool: new TaskPool({ maxThreads: 1, taskTimeoutMs: 10_000 }) }),
    async (entry, ctx) => {
      const result = await ctx.runTask<string>(worker, entry.message.toString('utf8'), { timeoutMs });
      await ctx.enqueue('done', result, { from: entry.id });
    },
  );
}

async function enqueueKinds(spool: Spool, kinds: readonly string[]): Promise<string[]> {
  const inbox = spool.switchboard('in');
  const ids: string[] = [];
  for (const kind of kinds) ids.push(await inbox.enqueue(kind));
  return ids;
}

describe('TaskPool through ctx.runTask', () => {
  it('a task past its time limit sends its entry to shunt with TaskTimeoutError, and the runner goes on with the next entry', async () => {
    const spool = await makeSpool();
    const [spin, ok] = await enqueueKinds(spool, ['spin', 'ok']);
    const watch = startRunner(poolRunner(spool, 300));
    const ends = await watch.endsAtLeast(2);

    expect(ends.map((end) => [end.id, end.outcome])).toEqual([
      [spin, 'shunt'],
      [ok, 'finished'],
    ]);
    // The limit, not anything sooner, ended the spinning worker.
    expect(ends[0]!.at - watch.starts[0]!.at).toBeGreaterThanOrEqual(300);
    const shunt = await spool.entries('shunt');
    expect(shunt).toHaveLength(1);
    expect(shunt[0]).toMatchObject({ id: spin, control: { originalQueue: 'in', failedRunner: 'pooled', error: { name: TaskTimeoutError.name } } });
    expect(shunt[0]!.control.reason).toMatch(/^TaskTimeoutError: worker task .*pool-worker\.js exceeded its 300 ms limit and was terminated$/);
    const done = await spool.entries('done');
    expect(done.map((entry) => [entry.message.toString(), entry.metadata.from])).toEqual([['done:ok', ok]]);
    expect(watch.ended).toBe(false);
    expect(watch.runner.stats).toMatchObject({ processed: 1, failed: 1 });
  }, TIMEOUT);

  it('the limit counts the task, not the start of its worker: a module slow to load (a busy machine) is no timeout', async () => {
    // Fails when the clock starts at the call: the load alone (1.5 s) is past the 300 ms limit.
    const pool = new TaskPool({ maxThreads: 1, taskTimeoutMs: 10_000 });
    try {
      expect(await pool.run<string>(compiledFixture('slow-load-worker'), 'x', { timeoutMs: 300 })).toBe('loaded:x');
      // Loaded now: a spinning task of the same pool still ends at its limit.
      await expect(pool.run<string>(compiledFixture('pool-worker'), 'spin', { timeoutMs: 300 })).rejects.toBeInstanceOf(TaskTimeoutError);
    } finally {
      await pool.close();
    }
  }, TIMEOUT);

  it('a worker that exits its thread fails only its entry (TaskCrashedError, to shunt) and the runner lives on', async () => {
    const spool = await makeSpool();
    const [before, crash, after] = await enqueueKinds(spool, ['ok', 'crash', 'ok']);
    const watch = startRunner(poolRunner(spool, 10_000));
    const ends = await watch.endsAtLeast(3);

    expect(ends.map((end) => [end.id, end.outcome])).toEqual([
      [before, 'finished'],
      [crash, 'shunt'],
      [after, 'finished'],
    ]);
    const shunt = await spool.entries('shunt');
    expect(shunt).toHaveLength(1);
    expect(shunt[0]).toMatchObject({ id: crash, control: { failedRunner: 'pooled', error: { name: TaskCrashedError.name } } });
    expect(shunt[0]!.control.reason).toMatch(/^TaskCrashedError: worker task .*pool-worker\.js failed: /);
    const done = await spool.entries('done');
    expect(done.map((entry) => entry.metadata.from).sort()).toEqual([before, after].sort());
    expect(watch.ended).toBe(false);
    expect(watch.runner.stats).toMatchObject({ processed: 2, failed: 1 });
  }, TIMEOUT);

  it('abort() while a task runs releases its entry back to .pck unchanged instead of failing it', async () => {
    const spool = await makeSpool();
    const [spin] = await enqueueKinds(spool, ['spin']);
    const watch = startRunner(poolRunner(spool, 10_000));
    await watch.pulse.until(() => watch.starts.length === 1, 'the spin task started');
    const stopping = watch.runner.stop();
    watch.runner.abort();
    await stopping;

    expect(watch.ends.map((end) => [end.id, end.outcome])).toEqual([[spin, 'released']]);
    const left = await spool.entries('in');
    expect(left.map((entry) => [entry.id, entry.state, entry.control.restores])).toEqual([[spin, 'pck', 0]]);
    expect(await spool.entries('shunt')).toEqual([]);
    expect(watch.runner.stats).toMatchObject({ processed: 0, failed: 0 });
  }, TIMEOUT);
});
