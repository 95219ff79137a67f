/**
 * One file must not stop a queue: a real master and its runner processes,
 * run as the unprivileged `switchyard` system user (so permissions are real:
 * root would read anything), over a slice holding good entries next to
 * `.pck` and `.bak` names that are a directory, a FIFO, a symbolic link loop
 * and a root-only file (what `inject` run as root leaves), plus a shard
 * directory root made that the runner cannot even list. The good entries
 * all pass, each bad file is set aside in `bad` beside a record of why, the
 * runner stays up, and its status detail names every one.
 */
import { spawn, spawnSync } from 'node:child_process';
import { lstatSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, readFile, rename, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BAD_QUEUE,
  decodeEntry,
  encodeEntry,
  entryPath,
  makeEntryId,
  parseEntryId,
  setAsidePath,
  shardOf,
  Switchboard,
  type EntryState,
} from '../../queues/index.js';
import type { RunnerStatus, StatusReport } from '../../src/master/protocol.js';
import { CLI, isReadyLine, MASTER_WAIT_MS, MasterHandle, removeHome, runnerModule, testConfig, waitForEntries } from '../master/harness.js';

/** The machine's `switchyard` system user, which the master and its runners run as here. */
function systemUser(): { uid: number; gid: number } {
  const uid = spawnSync('id', ['-u', 'switchyard'], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', 'switchyard'], { encoding: 'utf8' });
  if (uid.status !== 0 || gid.status !== 0) throw new Error('these tests need the `switchyard` system user (useradd --system switchyard)');
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

const BASE = 1_750_000_000_000_000n;
const KINDS = ['directory', 'fifo', 'symlink-loop', 'root-only-file'] as const;
type Kind = (typeof KINDS)[number];
const REASONS: Record<Kind, RegExp> = {
  directory: /^unreadable queue file: a directory, not a queue file$/,
  fifo: /^unreadable queue file: a FIFO \(named pipe\), not a queue file$/,
  'symlink-loop': /^unreadable queue file: a symbolic link to ".+", not a queue file/,
  'root-only-file': /^unreadable queue file: permission denied \(EACCES\): owned by uid 0 \(root\) gid 0, mode 0600, and this process runs as uid \d+ \(switchyard\)/,
};

let home: string;
let master: MasterHandle | undefined;
const good: string[] = [];
const bad: { id: string; kind: Kind; state: EntryState }[] = [];
let lockedDir: string;
let lockedId: string;

function validEntry(message: string): Buffer {
  return Buffer.concat(encodeEntry({ listId: 'l' }, { restores: 0, enqueuedAt: new Date().toISOString() }, Buffer.from(message)));
}

async function makeBad(path: string, kind: Kind): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  switch (kind) {
    case 'directory':
      await mkdir(path);
      return;
    case 'fifo': {
      const made = spawnSync('mkfifo', ['-m', '0660', path]);
      if (made.status !== 0) throw new Error(`mkfifo failed: ${made.stderr.toString()}`);
      return;
    }
    case 'symlink-loop':
      await symlink(basename(path), path);
      return;
    case 'root-only-file':
      // A sound queue file, but root's and 0600: what `inject` run as root writes with a 077 umask.
      await writeFile(path, validEntry('Subject: written by root\n\nbody\n'), { mode: 0o600 });
      await chown(path, 0, 0);
      await chmod(path, 0o600);
      return;
  }
}

async function statusOf(handle: MasterHandle, predicate: (status: RunnerStatus) => boolean, what: string): Promise<RunnerStatus> {
  const of = (report: StatusReport): RunnerStatus | undefined => report.runners.find((r) => r.name === 'hop');
  return of(
    await handle.statusWhen((report) => {
      const status = of(report);
      return status !== undefined && predicate(status);
    }, what),
  )!;
}

beforeAll(async () => {
  const user = systemUser();
  home = await mkdtemp(join(tmpdir(), 'sy-unreadable-'));
  const relay = `[runner.hop]\nmodule = "${runnerModule('relay')}"\nqueue = "q1"\n\n[runner.hop.options]\nto = "done"\nmode = "forward"\n`;
  await writeFile(join(home, 'switchyard.toml'), testConfig(relay, { maxRestarts: 3, restartWindow: '"1m"' }));
  const queues = join(home, 'queues');
  const q1 = new Switchboard({ root: queues, name: 'q1', durability: 'none' });
  // Bad entries first in time, so the good ones come after them in the runner's order.
  let tick = 0n;
  const later: (() => Promise<void>)[] = [];
  for (const kind of KINDS) {
    for (const state of ['pck', 'bak'] as const) {
      const id = makeEntryId(Buffer.from(`${kind} ${state}`), '', BASE + tick++);
      bad.push({ id, kind, state });
      const path = entryPath(queues, 'q1', id, state);
      // Root's file must stay root's: made after the chown below, in a directory that is not root's.
      if (kind === 'root-only-file') {
        await mkdir(dirname(path), { recursive: true });
        later.push(() => makeBad(path, kind));
      } else {
        await makeBad(path, kind);
      }
    }
  }
  for (let n = 0; n < 4; n++) good.push(await q1.enqueue(`Subject: good ${n}\n\n`, { n }, { micros: BASE + 100n + BigInt(n) }));
  // A good entry left in flight by a killed runner: recovered next to the bad `.bak` files.
  const interrupted = await q1.enqueue('Subject: good interrupted\n\n', {}, { micros: BASE + 200n });
  await rename(q1.path(interrupted, 'pck'), q1.path(interrupted, 'bak'));
  good.push(interrupted);
  // A shard directory made by root (0700) with a good entry in it: not even listable.
  const used = new Set([...bad.map((b) => b.id), ...good].map((id) => shardOf(parseEntryId(id).sha1)));
  for (let n = 0; ; n++) {
    lockedId = makeEntryId(Buffer.from(`locked ${n}`), '', BASE + 300n);
    if (!used.has(shardOf(parseEntryId(lockedId).sha1))) break;
  }
  // The test watches `done` as root: its shard directories must exist before the chown, or root would own them.
  (await new Switchboard({ root: queues, name: 'done' }).watch()).close();
  const chowned = spawnSync('chown', ['-R', `${user.uid}:${user.gid}`, home]);
  if (chowned.status !== 0) throw new Error(`chown failed: ${chowned.stderr.toString()}`);
  for (const make of later) await make();
  lockedDir = dirname(entryPath(queues, 'q1', lockedId, 'pck'));
  await mkdir(lockedDir, { mode: 0o700 });
  await writeFile(entryPath(queues, 'q1', lockedId, 'pck'), validEntry('Subject: behind a locked door\n\n'), { mode: 0o600 });

  const child = spawn(process.execPath, [CLI, '--home', home, 'start', '--foreground'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    uid: user.uid,
    gid: user.gid,
  });
  master = new MasterHandle(home, child);
  await master.waitForLine(isReadyLine, 'the master ready');
}, 3 * MASTER_WAIT_MS);

afterAll(async () => {
  await master?.stop();
  if (home) await removeHome(home);
});

describe('unreadable queue files next to good entries, under a runner running as the switchyard user', () => {
  it('every good entry is processed, the runner never crashes, and its status detail names each bad file and the unlistable directory', async () => {
    const done = await waitForEntries(home, 'done', good.length);
    expect(done.sort()).toEqual([...good].sort());
    const hop = await statusOf(master!, (r) => bad.every((b) => r.detail?.includes(b.id) === true) && r.detail?.includes(lockedDir) === true, 'every bad entry in the detail');
    expect(hop.state).toBe('running');
    expect(hop.restarts).toBe(0);
    expect(hop.detail).toMatch(/^8 unreadable queue files set aside in bad since start, latest /);
    for (const { id, kind } of bad) {
      const short = { directory: 'a directory', fifo: 'a FIFO (named pipe)', 'symlink-loop': 'a symbolic link', 'root-only-file': 'permission denied' }[kind];
      expect(hop.detail).toContain(`${id} (${short})`);
    }
    expect(hop.detail).toContain(`1 shard directory not listable, their entries wait (permission denied (EACCES) on directory ${lockedDir}: owned by uid 0 (root)`);
    // Logged at error level, one line per file.
    for (const { id } of bad) {
      const line = await master!.waitForLine((l) => l.msg === 'unreadable queue file set aside in bad' && l.entry === id, `set-aside log line of ${id}`);
      expect(line.level).toBe(50);
    }
    const dirLine = await master!.waitForLine((l) => l.msg === 'cannot list a shard directory: its entries wait until it is fixed', 'unlistable log line');
    expect(dirLine.level).toBe(50);
    expect(master!.lines.filter((l) => l.msg === 'runner failed' || l.msg?.startsWith('runner crashed') === true)).toEqual([]);
  });

  it('each bad file is in bad as it was found, beside a record with the reason and its original queue; nothing is left in q1 but the locked entry', async () => {
    const queues = join(home, 'queues');
    for (const { id, kind, state } of bad) {
      const record = decodeEntry(await readFile(entryPath(queues, BAD_QUEUE, id, 'psv')));
      expect(record.control.reason, `${kind} ${state}`).toMatch(REASONS[kind]);
      expect(record.control.originalQueue).toBe('q1');
      expect(record.control.setAside).toMatchObject({ file: `${id}.raw`, state: 'bak' });
      const kept = lstatSync(setAsidePath(queues, id));
      const what = { directory: kept.isDirectory(), fifo: kept.isFIFO(), 'symlink-loop': kept.isSymbolicLink(), 'root-only-file': kept.isFile() && kept.uid === 0 };
      expect(what[kind], `${kind} ${state} kept as it was`).toBe(true);
    }
    const left = await new Switchboard({ root: queues, name: 'q1' }).scan();
    // Root lists the locked directory: its entry waits there, untouched.
    expect(left.entries.map((e) => `${e.id}.${e.state}`)).toEqual([`${lockedId}.pck`]);
  });
});
