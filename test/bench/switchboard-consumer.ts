/**
 * The consumer processes of switchboard.bench.ts, started with fork() and
 * driven over IPC. Not a benchmark itself (run.ts runs only `*.bench.js`).
 *
 *     node switchboard-consumer.js latency-switchboard <spool root> <queue>
 *     node switchboard-consumer.js latency-floor <directory>
 *     node switchboard-consumer.js idle-switchboard <spool root> <queue>
 *     node switchboard-consumer.js idle-floor
 *
 * The bench imports only this module's types: importing it for a value
 * would run the role switch below in the bench's own process.
 *
 * latency-*: wait for an entry, list, report `seen` with the wall-clock time
 * the listing returned it, then take it (dequeue + finish, or the same
 * syscalls on plain names) and report `done`. The floor is one fs.watch on
 * one directory and one readdir.
 * idle-*: report the process's CPU time between `start` and `stop`; the
 * switchboard one meanwhile loops on wait()/takeNames() like a runner; the floor
 * is a Node process with only its IPC channel.
 *
 * Files: latency-switchboard renames `.pck` to `.bak` and unlinks it, as a
 * runner does; latency-floor does the same on plain names. The parent owns
 * and removes the directories.
 */
import { watch } from 'node:fs';
import { readdir, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { EntryNotFoundError, Switchboard } from '../../queues/index.js';

export type ParentMessage =
  | { type: 'ping'; sentAt: number }
  | { type: 'start' }
  | { type: 'stop' };

export type ChildMessage =
  | { type: 'ready' }
  | { type: 'pong'; sentAt: number; at: number }
  | { type: 'seen'; id: string; at: number }
  | { type: 'done'; id: string }
  | { type: 'cpu'; userMicros: number; systemMicros: number; wallMs: number; listings: number };

function wallClockMs(): number {
  return performance.timeOrigin + performance.now();
}

function send(message: ChildMessage): void {
  process.send?.(message);
}

function isParentMessage(value: unknown): value is ParentMessage {
  return typeof value === 'object' && value !== null && 'type' in value && typeof value.type === 'string';
}

/** Answer pings (clock offset), start/stop (CPU accounting); `onStop` closes the watcher. */
function serveParent(onStop: () => void): { listings: number } {
  const counters = { listings: 0 };
  let cpuStart = process.cpuUsage();
  let wallStart = performance.now();
  process.on('message', (message: unknown) => {
    if (!isParentMessage(message)) return;
    switch (message.type) {
      case 'ping':
        send({ type: 'pong', sentAt: message.sentAt, at: wallClockMs() });
        break;
      case 'start':
        cpuStart = process.cpuUsage();
        wallStart = performance.now();
        counters.listings = 0;
        break;
      case 'stop': {
        const cpu = process.cpuUsage(cpuStart);
        send({ type: 'cpu', userMicros: cpu.user, systemMicros: cpu.system, wallMs: performance.now() - wallStart, listings: counters.listings });
        onStop();
        process.disconnect?.();
        break;
      }
    }
  });
  return counters;
}

async function switchboardConsumer(root: string, queue: string, report: boolean): Promise<void> {
  const board = new Switchboard({ root, name: queue, durability: 'none' });
  const watcher = await board.watch();
  const counters = serveParent(() => watcher.close());
  await board.files();
  send({ type: 'ready' });
  // As a runner does: the event names say which entries arrived, so no listing
  // is needed unless names were lost; the disappearance of an entry this
  // consumer took itself also shows up as a name, and dequeue() says it is gone.
  const taken = new Set<string>();
  for (;;) {
    const reason = await watcher.wait();
    if (reason === 'closed') return;
    const { names, complete } = watcher.takeNames();
    let ids: string[];
    if (complete && reason === 'entry') {
      ids = names.filter((id) => !taken.delete(id)).sort();
    } else {
      ids = await board.files();
      counters.listings++;
    }
    if (!report) continue;
    const at = wallClockMs();
    for (const id of ids) send({ type: 'seen', id, at });
    for (const id of ids) {
      try {
        await board.dequeue(id);
      } catch (error) {
        if (error instanceof EntryNotFoundError) continue;
        throw error;
      }
      taken.add(id);
      await board.finish(id);
      send({ type: 'done', id });
    }
  }
}

async function floorConsumer(dir: string): Promise<void> {
  let pending = false;
  let wakeUp: (() => void) | undefined;
  const watcher = watch(dir, { persistent: true }, (_event, filename) => {
    if (filename !== null && !filename.endsWith('.pck')) return;
    if (wakeUp) wakeUp();
    else pending = true;
  });
  let closed = false;
  const counters = serveParent(() => {
    closed = true;
    watcher.close();
    wakeUp?.();
  });
  send({ type: 'ready' });
  for (;;) {
    if (!pending) await new Promise<void>((resolve) => (wakeUp = resolve));
    wakeUp = undefined;
    pending = false;
    if (closed) return;
    const names = (await readdir(dir)).filter((name) => name.endsWith('.pck'));
    counters.listings++;
    const at = wallClockMs();
    for (const name of names) send({ type: 'seen', id: name.slice(0, -4), at });
    for (const name of names) {
      const id = name.slice(0, -4);
      const bak = join(dir, `${id}.bak`);
      await rename(join(dir, name), bak);
      await readFile(bak);
      await unlink(bak);
      send({ type: 'done', id });
    }
  }
}

const [role, path, queue] = process.argv.slice(2);
switch (role) {
  case 'latency-switchboard':
    await switchboardConsumer(path as string, queue as string, true);
    break;
  case 'idle-switchboard':
    await switchboardConsumer(path as string, queue as string, false);
    break;
  case 'latency-floor':
    await floorConsumer(path as string);
    break;
  case 'idle-floor':
    serveParent(() => undefined);
    send({ type: 'ready' });
    break;
  default:
    console.error(`unknown role ${JSON.stringify(role)}`);
    process.exitCode = 2;
}
