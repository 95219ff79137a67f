/**
 * Waiting for work without polling: Switchboard.watch() wakes a consumer when
 * another process puts an entry into its slice, and only then (or on the
 * rescan safety net, or close). The other process is the fixture
 * test/fixtures/queue-agent.ts, driven one JSON command at a time.
 */
import { readdir } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseEntryId, sliceOf, Switchboard, type SliceWatcher } from '../../queues/index.js';
import { killLiveChildren, makeTempDir, removeTempDir, startFixture, type Child } from './harness.js';

let root: string;
let watchers: SliceWatcher[];
beforeEach(async () => {
  root = await makeTempDir();
  watchers = [];
});
afterEach(async () => {
  for (const watcher of watchers) watcher.close();
  await killLiveChildren();
  await removeTempDir(root);
});

async function startAgent(): Promise<Child> {
  const agent = startFixture('queue-agent', [root]);
  await agent.waitForLine((line) => line === 'ready');
  return agent;
}

async function ask(agent: Child, command: object): Promise<{ id: string }> {
  const from = agent.lines.length;
  agent.send(JSON.stringify(command));
  return JSON.parse(await agent.nextLine(from)) as { id: string };
}

async function stopAgent(agent: Child): Promise<void> {
  agent.process.stdin!.end();
  await agent.succeeded();
}

async function watch(board: Switchboard): Promise<SliceWatcher> {
  const watcher = await board.watch();
  watchers.push(watcher);
  return watcher;
}

describe('Switchboard.watch()', () => {
  it('wakes a waiting consumer with "entry" when another process enqueues into its slice, long before the rescan interval', async () => {
    const agent = await startAgent();
    // An hour: were it the rescan that woke the consumer, the test would time out first, and the reason would be 'rescan'.
    const board = new Switchboard({ root, name: 'in', rescanIntervalMs: 3_600_000 });
    const watcher = await watch(board);
    expect(await board.files()).toEqual([]);

    const waiting = watcher.wait();
    const { id } = await ask(agent, { op: 'enqueue', queue: 'in' });
    expect(await waiting).toBe('entry');
    expect(await board.files()).toEqual([id]);
    await stopAgent(agent);
  });

  it('remembers an entry that arrived between watch() and wait(): wait() then resolves "entry"', async () => {
    const agent = await startAgent();
    const board = new Switchboard({ root, name: 'in', rescanIntervalMs: 60_000 });
    const watcher = await watch(board);
    const { id } = await ask(agent, { op: 'enqueue', queue: 'in' });
    expect(await watcher.wait()).toBe('entry');
    expect(await board.files()).toEqual([id]);
    await stopAgent(agent);
  });

  it('does not wake for an entry in another slice: the wait ends with "rescan", yet an entry in its own slice wakes it', async () => {
    const agent = await startAgent();
    const board = new Switchboard({ root, name: 'in', slice: 0, numSlices: 2, rescanIntervalMs: 300 });
    const watcher = await watch(board);

    const waiting = watcher.wait();
    const { id: foreign } = await ask(agent, { op: 'enqueueInSlice', queue: 'in', slice: 1, numSlices: 2 });
    expect(sliceOf(parseEntryId(foreign).sha1, 2)).toBe(1);
    expect(await new Switchboard({ root, name: 'in', slice: 1, numSlices: 2 }).files()).toEqual([foreign]);
    // The wait pending during the arrival, and a whole further interval after
    // it, end by the timer: no event about the foreign entry got through.
    expect(await waiting).toBe('rescan');
    expect(await watcher.wait()).toBe('rescan');

    // The same watcher does see its own slice (so the silence above meant something).
    // The timer may end this wait before the agent is done (a loaded machine);
    // the arrival is remembered and the next wait reports it at once.
    const own = watcher.wait();
    const { id: mine } = await ask(agent, { op: 'enqueueInSlice', queue: 'in', slice: 0, numSlices: 2 });
    const reasons = [await own];
    if (reasons[0] === 'rescan') reasons.push(await watcher.wait());
    expect(reasons.at(-1)).toBe('entry');
    expect(await board.files()).toEqual([mine]);
    await stopAgent(agent);
  });

  it('close() resolves a pending wait with "closed", and every later wait at once', async () => {
    const board = new Switchboard({ root, name: 'in', rescanIntervalMs: 60_000 });
    const watcher = await watch(board);
    const waiting = watcher.wait();
    watcher.close();
    expect(await waiting).toBe('closed');
    expect(await watcher.wait()).toBe('closed');
  });

  it('creates the slice\'s shard directories so that a fresh queue can be watched', async () => {
    const board = new Switchboard({ root, name: 'fresh', slice: 3, numSlices: 4, rescanIntervalMs: 60_000 });
    const watcher = await watch(board);
    expect((await readdir(board.queueDir)).sort()).toEqual(Array.from({ length: 64 }, (_, i) => (192 + i).toString(16)));
    watcher.close();
  });
});
