/**
 * `switchyard queue ...` as operators run it: the built binary in a child
 * process against a real spool in a temp directory. Spool content is set up
 * with the queue library itself. Assumes `tsc` has run (`npm test` does).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, lstatSync } from 'node:fs';
import { mkdir, mkdtemp, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  CorruptEntryError,
  entryPath,
  makeEntryId,
  nowMicros,
  parseEntryId,
  setAsidePath,
  sliceOf,
  Spool,
} from '../../queues/index.js';
import { STANDARD_QUEUES } from '../../runners/queue-names.js';
import { createProgress, renderProgress } from '../../src/cli/progress.js';
import { describeEntry } from '../../src/cli/queue-command.js';
import { runCliInProcess, runHomeCliInProcess } from '../support/cli.js';

const BIN = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));

interface CliResult {
  code: number | null;
  stdout: Buffer;
  stderr: string;
  /** stdout as text, for the commands that print text. */
  out: string;
}

/** Run the built binary and wait for it to exit. */
function cli(args: readonly string[], env: Record<string, string> = {}): Promise<CliResult> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  if (env.SWITCHYARD_HOME === undefined) delete childEnv.SWITCHYARD_HOME;
  delete childEnv.SWITCHYARD_DEBUG;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      const out = Buffer.concat(stdout);
      resolve({ code, stdout: out, out: out.toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8') });
    });
  });
}

interface ListedEntry {
  id: string;
  time: string;
  slice: number;
  size: number;
  state: string;
  listId: string | null;
  restores: number | null;
  reason: string | null;
  error: string | null;
  path: string;
  control: Record<string, unknown> | null;
}

interface Counts {
  queue: string;
  pck: number;
  bak: number;
  psv: number;
}

let home: string;
let spool: Spool;

/**
 * `switchyard --home <home> queue ...` in this process (program.ts run(), what the binary runs: the same
 * exit code, stdout and stderr) without a node start-up (~0.35 s of CPU) each, but for --raw, whose bytes
 * on stdout are what the process boundary carries: those run the built binary. The binary itself also
 * runs (queueReal) for one of each other kind of outcome: text and --json output, exit 1, a usage error
 * (exit 2), the home from SWITCHYARD_HOME, the progress bar on a terminal.
 */
async function queue(...args: string[]): Promise<CliResult> {
  if (args.includes('--raw')) return queueReal(...args);
  const result = await runHomeCliInProcess(home, ['queue', ...args]);
  return { code: result.code, stdout: Buffer.from(result.stdout), out: result.stdout, stderr: result.stderr };
}

/** `switchyard --home <home> queue ...`, the built binary in a process of its own. */
function queueReal(...args: string[]): Promise<CliResult> {
  return cli(['--home', home, 'queue', ...args]);
}

async function json<T>(...args: string[]): Promise<T> {
  return jsonFrom<T>(queue, ...args);
}

async function jsonFrom<T>(run: (...args: string[]) => Promise<CliResult>, ...args: string[]): Promise<T> {
  const result = await run(...args, '--json');
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return JSON.parse(result.out) as T;
}

/** `queue list NAME --json` run for real (in this process): the entries as the command prints them. */
async function listedViaCli(name: string, ...args: string[]): Promise<ListedEntry[]> {
  return (await json<{ entries: ListedEntry[] }>('list', name, ...args)).entries;
}

/** `queue count --json` run for real, as the built binary. */
async function countsViaCli(): Promise<Map<string, Counts>> {
  const { queues } = await jsonFrom<{ queues: Counts[] }>(queueReal, 'count');
  return new Map(queues.map((q) => [q.queue, q]));
}

/**
 * A queue's entries as `queue list NAME --json` gives them (the spool's entries, described
 * by the command's own describeEntry), read in this process: the state a test about another
 * command checks after it, without a node start-up (~0.3 s of CPU) each time. The command
 * itself is run for real in the tests about it (listedViaCli).
 */
async function listed(name: string): Promise<ListedEntry[]> {
  return (await spool.entries(name)).map(describeEntry) as ListedEntry[];
}

/** Every queue's counts as `queue count --json` gives them (the spool's), read in this process; countsViaCli runs the command. */
async function counts(): Promise<Map<string, Counts>> {
  const names = await spool.queueNames();
  return new Map(await Promise.all(names.map(async (queue): Promise<[string, Counts]> => [queue, { queue, ...(await spool.count(queue)) }])));
}

/** A file in `queueName` that is not a switchyard queue file at all. */
async function writeCorrupt(queueName: string, bytes: Buffer): Promise<string> {
  const id = makeEntryId(bytes, '', nowMicros());
  const path = entryPath(spool.root, queueName, id, 'pck');
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, bytes);
  return id;
}

/** Enqueue in `from`, take it as a runner would, and quarantine it in bad. */
async function preservedInBad(from: string, reason: string, message = 'Subject: x\n\nbody\n'): Promise<string> {
  const board = spool.switchboard(from);
  const id = await board.enqueue(message, { listId: `${from}.example.org` });
  await board.dequeue(id);
  await board.finish(id, { preserve: true, reason });
  return id;
}

/** A corrupt file found by a runner in `in`, quarantined by the switchboard. */
async function quarantinedCorrupt(): Promise<string> {
  const id = await writeCorrupt('in', Buffer.from('garbage\n\0\xff'));
  await expect(spool.switchboard('in').dequeue(id)).rejects.toBeInstanceOf(CorruptEntryError);
  return id;
}

beforeAll(() => {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run \`npx tsc -p .\` before these tests`);
});

beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'switchyard-cli-'));
  spool = new Spool({ root: join(home, 'queues'), durability: 'none' });
});

afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

describe('usage', () => {
  const commands = [[], ['queue'], ['queue', 'count'], ['queue', 'list'], ['queue', 'show'], ['queue', 'move'], ['queue', 'requeue'], ['queue', 'flush'], ['queue', 'purge']];

  it.each(commands)('`switchyard %s --help` prints its usage and exits 0', async (...words: string[]) => {
    // In this process (program.ts run(), what the binary runs); the built binary's own help is the next test.
    const result = await runCliInProcess([...words, '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`Usage: ${['switchyard', ...words].join(' ')} [options]`);
  });

  it('the built binary prints the same help as the program run in-process, and exits 0', async () => {
    const real = await cli(['queue', 'requeue', '--help']);
    expect(real.code).toBe(0);
    expect(real.out).toContain('Usage: switchyard queue requeue [options]');
    expect(real.out).toBe((await runCliInProcess(['queue', 'requeue', '--help'])).stdout);
  });

  it('an unknown option exits 2 and names the option', async () => {
    const result = await queueReal('count', '--bogus');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("unknown option '--bogus'");
  });

  it('an unknown subcommand exits 2 and names it', async () => {
    const result = await queue('frobnicate');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("unknown command 'frobnicate'");
  });

  it('a missing argument exits 2', async () => {
    const result = await queue('move', '1.2');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("missing required argument 'queue'");
  });
});

describe('queue count', () => {
  it('--json counts waiting, in-flight and preserved entries of every queue', async () => {
    const inbox = spool.switchboard('in');
    await inbox.enqueue('a');
    await inbox.enqueue('b');
    const out = spool.switchboard('out');
    await out.dequeue(await out.enqueue('c'));
    await preservedInBad('in', 'test');
    await spool.switchboard('digest').enqueue('d');

    const byQueue = await countsViaCli();
    expect([...byQueue.keys()]).toEqual([...STANDARD_QUEUES, 'digest'].sort());
    expect(byQueue.get('in')).toEqual({ queue: 'in', pck: 2, bak: 0, psv: 0 });
    expect(byQueue.get('out')).toEqual({ queue: 'out', pck: 0, bak: 1, psv: 0 });
    expect(byQueue.get('bad')).toEqual({ queue: 'bad', pck: 0, bak: 0, psv: 1 });
    expect(byQueue.get('digest')).toEqual({ queue: 'digest', pck: 1, bak: 0, psv: 0 });
    expect(byQueue.get('retry')).toEqual({ queue: 'retry', pck: 0, bak: 0, psv: 0 });
  });

  it('prints an aligned table with a total row for people', async () => {
    await spool.switchboard('in').enqueue('a');
    await preservedInBad('out', 'test');

    const result = await queueReal('count');
    expect(result.code).toBe(0);
    const lines = result.out.trimEnd().split('\n');
    expect(lines[0]?.split(/\s+/)).toEqual(['QUEUE', 'WAITING', 'IN-FLIGHT', 'PRESERVED']);
    expect(lines.find((line) => line.startsWith('in '))?.split(/\s+/)).toEqual(['in', '1', '0', '0']);
    expect(lines.at(-1)?.split(/\s+/)).toEqual(['total', '1', '0', '1']);
    // Right-aligned numbers: every row ends in the same column.
    expect(new Set(lines.map((line) => line.length)).size).toBe(1);
  });

  it('reads the home from SWITCHYARD_HOME when --home is not given', async () => {
    await spool.switchboard('in').enqueue('a');
    const result = await cli(['queue', 'count', '--json'], { SWITCHYARD_HOME: home });
    expect(result.code).toBe(0);
    const { queues } = JSON.parse(result.out) as { queues: Counts[] };
    expect(queues.find((q) => q.queue === 'in')?.pck).toBe(1);
  });
});

describe('queue list', () => {
  it('--json gives each entry its time, slice, size, list id, restore count and state', async () => {
    const inbox = spool.switchboard('in');
    const a = await inbox.enqueue('Subject: a\n\nA\n', { listId: 'ann.example.org' });
    const b = await inbox.enqueue('Subject: b\n\nBB\n', { listId: 'dev.example.org' });
    const c = await inbox.enqueue('Subject: c\n\nCCC\n');
    // b crashed once: restored from .bak with restores 1. c is in flight now.
    await inbox.dequeue(b);
    await inbox.recoverBackupFiles();
    await inbox.dequeue(c);

    const entries = await listedViaCli('in', '--slices', '4');
    expect(entries.map((e) => e.id)).toEqual([a, b, c]);
    for (const entry of entries) {
      const { micros, sha1 } = parseEntryId(entry.id);
      expect(entry.time).toBe(new Date(Number(micros / 1000n)).toISOString());
      expect(entry.slice).toBe(sliceOf(sha1, 4));
      expect(entry.size).toBe((await stat(entry.path)).size);
    }
    expect(entries.map((e) => [e.listId, e.restores, e.state])).toEqual([
      ['ann.example.org', 0, 'pck'],
      ['dev.example.org', 1, 'pck'],
      [null, 0, 'bak'],
    ]);
  });

  it('shows why entries in bad were preserved, in JSON and in the table', async () => {
    const id = await preservedInBad('out', 'SMTP 554 5.7.1 rejected');

    const [entry] = await listedViaCli('bad');
    expect(entry?.id).toBe(id);
    expect(entry?.reason).toBe('SMTP 554 5.7.1 rejected');
    expect(entry?.state).toBe('psv');
    expect(entry?.control?.originalQueue).toBe('out');

    const table = await queue('list', 'bad');
    expect(table.code).toBe(0);
    const [header, row] = table.out.trimEnd().split('\n');
    expect(header).toMatch(/^ID\s+TIME\s+SLICE\s+SIZE\s+LIST\s+RESTORES\s+STATE\s+REASON$/);
    expect(row).toMatch(new RegExp(`^${id.replace('+', '\\+')}\\s.*out\\.example\\.org\\s+0\\s+preserved\\s+SMTP 554 5\\.7\\.1 rejected$`));
  });

  it('says so when a queue is empty', async () => {
    const result = await queue('list', 'retry');
    expect(result.code).toBe(0);
    expect(result.out).toBe('queue retry is empty\n');
  });

  it('an unknown queue exits 1 with a message naming it', async () => {
    const result = await queueReal('list', 'nosuch');
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`switchyard: SY_QUEUE_UNKNOWN: no queue named nosuch; looked in the home ${home}\n`);
  });

  it('a queue name that is not a name exits 1 and is quoted back', async () => {
    const result = await queue('list', '../etc');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('invalid queue name "../etc"');
  });

  it.each(['3', '0', '512', 'four'])('--slices %s exits 2', async (slices) => {
    const result = await queue('list', 'in', '--slices', slices);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('power of two');
  });
});

describe('queue show', () => {
  it('shows metadata, control data and only the header block of a CRLF message', async () => {
    const message = 'From: ann@example.org\r\nSubject: Hello\r\n\r\nBody line\r\nX-Not-A-Header: body\r\n';
    const id = await spool.switchboard('in').enqueue(message, { listId: 'ann.example.org' });

    const text = await queue('show', id);
    expect(text.code).toBe(0);
    expect(text.out).toContain('"listId": "ann.example.org"');
    expect(text.out).toContain('"restores": 0');
    expect(text.out).toContain('\nFrom: ann@example.org\nSubject: Hello\n');
    expect(text.out).not.toContain('Body line');
    expect(text.out).not.toContain('X-Not-A-Header');

    const facts = await json<Record<string, unknown>>('show', id);
    expect(facts).toMatchObject({
      id,
      queue: 'in',
      state: 'pck',
      corrupt: null,
      messageSize: Buffer.byteLength(message),
      metadata: { listId: 'ann.example.org' },
      control: { restores: 0 },
      headers: 'From: ann@example.org\r\nSubject: Hello\r\n',
    });
  });

  it('ends the header block at the first empty line of an LF message and reads 8-bit headers as latin1', async () => {
    const message = Buffer.concat([Buffer.from('From: a@example.org\nSubject: caf'), Buffer.from([0xe9]), Buffer.from('\n\nFrom: not a header\n')]);
    const id = await spool.switchboard('in').enqueue(message);
    const facts = await json<{ headers: string }>('show', id);
    expect(facts.headers).toBe('From: a@example.org\nSubject: café\n');
  });

  it('--raw writes the message byte for byte: NUL, bare CR, invalid UTF-8 and all 256 byte values', async () => {
    const message = Buffer.concat([
      Buffer.from('Subject: \0nul\rbare-cr\r\n\r\n'),
      Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0x80, 0x0d, 0x00]),
      Buffer.from(Array.from({ length: 256 }, (_, byte) => byte)),
      Buffer.from('no final newline\r'),
    ]);
    const id = await spool.switchboard('in').enqueue(message);

    const result = await queue('show', id, '--raw');
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout.equals(message)).toBe(true);
  });

  it('escapes control characters in headers instead of sending them to the terminal', async () => {
    const id = await spool.switchboard('in').enqueue('Subject: \x1b[31mred\x00 and\rback\n\nbody\n');
    const result = await queue('show', id);
    expect(result.code).toBe(0);
    expect(result.out).toContain('Subject: \\x1b[31mred\\x00 and\\x0dback\n');
    expect(result.out).not.toMatch(/[\x00\x1b\r]/);
  });

  it('says a queue file is corrupt; --raw then writes the whole file', async () => {
    const garbage = Buffer.from('SWITCHYARD-QUEUE 1 99999 5\n{"meta\0\xff');
    const id = await writeCorrupt('in', garbage);

    const text = await queue('show', id);
    expect(text.code).toBe(0);
    expect(text.out).toMatch(/corrupt\s+truncated file/);

    const facts = await json<{ corrupt: string | null; metadata: unknown; headers: unknown }>('show', id);
    expect(facts.corrupt).toContain('truncated file');
    expect(facts.metadata).toBeNull();
    expect(facts.headers).toBeNull();

    const raw = await queue('show', id, '--raw');
    expect(raw.code).toBe(0);
    expect(raw.stdout.equals(garbage)).toBe(true);
    expect(raw.stderr).toContain(`entry ${id} is corrupt`);
  });

  it('--raw of a corrupt file quarantined in bad writes the file as it was found', async () => {
    const id = await quarantinedCorrupt();
    const raw = await queue('show', id, '--raw');
    expect(raw.code).toBe(0);
    expect(raw.stdout.equals(Buffer.from('garbage\n\0\xff'))).toBe(true);
    const text = await queue('show', id);
    expect(text.out).toContain('unreadable queue file as found');
  });

  it('--raw and --json together are a usage error', async () => {
    const id = await spool.switchboard('in').enqueue('x');
    const result = await queue('show', id, '--raw', '--json');
    expect(result.code).toBe(2);
    // No message bytes: with --json, only the error as JSON.
    expect(JSON.parse(result.out)).toMatchObject({ error: { code: 'SY_USAGE', temporary: false } });
  });

  it('a missing entry exits 1 with a message naming it', async () => {
    const id = makeEntryId(Buffer.from('x'), '', nowMicros());
    const result = await queue('show', id);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`switchyard: SY_QUEUE_ENTRY_UNKNOWN: no entry ${id} in any queue; looked in the home ${home}\n`);
  });

  it('an invalid entry id exits 1 and is quoted back', async () => {
    const result = await queue('show', '12345+abc');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('invalid queue entry id "12345+abc"');
  });
});

describe('queue move', () => {
  it('moves a waiting entry to another queue: gone from the first, listed in the second', async () => {
    const id = await spool.switchboard('in').enqueue('Subject: m\n\nm\n', { listId: 'ann.example.org' });

    const result = await queue('move', id, 'shunt');
    expect(result.code).toBe(0);
    expect(result.out).toBe(`moved ${id} from in to shunt\n`);
    expect(await listed('in')).toEqual([]);
    const [moved] = await listed('shunt');
    expect(moved).toMatchObject({ id, state: 'pck', listId: 'ann.example.org' });
  });

  it('moves a preserved entry out of bad to a working queue as a waiting entry', async () => {
    const id = await preservedInBad('out', 'test');
    const moved = await json<{ from: string; to: string; state: string }>('move', id, 'in');
    expect(moved).toEqual({ id, from: 'bad', to: 'in', state: 'pck' });
    expect((await listed('in')).map((e) => e.id)).toEqual([id]);
    expect(await listed('bad')).toEqual([]);
  });

  it('refuses an unknown target queue and leaves the entry where it was', async () => {
    const id = await spool.switchboard('in').enqueue('x');
    const result = await queue('move', id, 'shnut');
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`switchyard: SY_QUEUE_UNKNOWN: no queue named shnut; looked in the home ${home}\n`);
    expect((await listed('in')).map((e) => e.id)).toEqual([id]);
  });

  it('refuses an in-flight (.bak) entry: it belongs to its runner', async () => {
    const out = spool.switchboard('out');
    const id = await out.enqueue('x');
    await out.dequeue(id);
    const result = await queue('move', id, 'shunt');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`entry ${id} in queue out is being processed`);
    expect((await listed('out')).map((e) => [e.id, e.state])).toEqual([[id, 'bak']]);
  });

  it('refuses to move a quarantined corrupt file out of bad, where a runner would take it for mail', async () => {
    const id = await quarantinedCorrupt();
    const result = await queue('move', id, 'in');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`entry ${id} is a quarantined corrupt queue file`);
    expect((await listed('bad')).map((e) => e.id)).toEqual([id]);
  });

  it('a missing entry exits 1 naming it', async () => {
    const id = makeEntryId(Buffer.from('y'), '', nowMicros());
    const result = await queue('move', id, 'in');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`no entry ${id}`);
  });
});

describe('queue requeue', () => {
  it('sends an entry from bad back to its original queue with restores reset to 0', async () => {
    const out = spool.switchboard('out');
    const id = await out.enqueue('Subject: r\n\nr\n', { listId: 'ann.example.org' });
    // A crash (restores 1), then a permanent failure.
    await out.dequeue(id);
    await out.recoverBackupFiles();
    await out.dequeue(id);
    await out.finish(id, { preserve: true, reason: 'SMTP 554' });
    expect((await listed('bad')).map((e) => [e.id, e.restores, e.reason])).toEqual([[id, 1, 'SMTP 554']]);

    const result = await queue('requeue', id);
    expect(result.code).toBe(0);
    expect(result.out).toBe(`requeued ${id} from bad to out\n`);
    expect(await listed('bad')).toEqual([]);
    const [back] = await listed('out');
    expect(back).toMatchObject({ id, state: 'pck', restores: 0, reason: null, listId: 'ann.example.org' });
    expect(back?.control?.originalQueue).toBeUndefined();
    // Rewritten by the CLI: 0660 whatever the caller's umask (main sets 007).
    expect((await stat(back?.path ?? '')).mode & 0o777).toBe(0o660);
  });

  it('--all requeues every entry of bad and shunt and reports what it skipped', async () => {
    const fromIn = await preservedInBad('in', 'one');
    const fromOut = await preservedInBad('out', 'two');
    const inbox = spool.switchboard('in');
    const shunted = await inbox.enqueue('Subject: s\n\ns\n');
    await inbox.dequeue(shunted);
    await inbox.moveTo(shunted, 'shunt', { reason: 'handler crashed' });
    const corrupt = await quarantinedCorrupt();

    const result = await queue('requeue', '--all', '--json');
    expect(result.code).toBe(0);
    // stderr is a pipe here: no progress bar to pollute it.
    expect(result.stderr).toBe('');
    const summary = JSON.parse(result.out) as { requeued: string[]; skipped: { id: string; code: string; reason: string }[] };
    expect([...summary.requeued].sort()).toEqual([fromIn, fromOut, shunted].sort());
    expect(summary.skipped).toEqual([{ id: corrupt, code: 'SY_QUEUE_NOT_REQUEUEABLE', reason: expect.stringContaining('corrupt') }]);

    const byQueue = await counts();
    expect(byQueue.get('in')?.pck).toBe(2);
    expect(byQueue.get('out')?.pck).toBe(1);
    expect(byQueue.get('shunt')?.pck).toBe(0);
    expect(byQueue.get('bad')?.psv).toBe(1);
  });

  it('--queue takes every entry of the queues named, and only those; retry entries go back at once', async () => {
    const inBad = await preservedInBad('in', 'one');
    const inbox = spool.switchboard('in');
    const shunted = await inbox.enqueue('Subject: s\n\ns\n');
    await inbox.dequeue(shunted);
    await inbox.moveTo(shunted, 'shunt', { reason: 'handler crashed' });
    const outbox = spool.switchboard('out');
    const failed = await outbox.enqueue('Subject: r\n\nr\n', { listId: 'ann.example.org' });
    await outbox.dequeue(failed);
    // Due in an hour: its name (time part) changes.
    const waiting = await outbox.moveTo(failed, 'retry', { reason: 'SMTP 451', micros: nowMicros() + 3_600_000_000n });

    const fromShunt = await json<{ requeued: string[]; skipped: unknown[] }>('requeue', '--queue', 'shunt');
    expect(fromShunt).toEqual({ requeued: [shunted], moved: [{ id: shunted, from: 'shunt', to: 'in' }], skipped: [] });
    expect((await listed('bad')).map((e) => e.id)).toEqual([inBad]);
    const fromRetry = await queue('requeue', '--all', '--queue', 'retry', '--queue', 'bad');
    expect(fromRetry.code).toBe(0);
    expect(fromRetry.out).toBe('requeued 2 entries: 1 to out, 1 to in\n');
    expect((await listed('out')).map((e) => e.id)).toEqual([waiting]);
    expect((await listed('in')).map((e) => e.id).sort()).toEqual([inBad, shunted].sort());
  });

  it('--queue refuses a queue entries are not requeued from, and one that does not exist', async () => {
    const notSource = await queue('requeue', '--queue', 'in');
    expect(notSource.code).toBe(1);
    expect(notSource.stderr).toContain('entries are not requeued from in: only from bad, shunt or retry');
    const unknown = await queue('requeue', '--queue', 'nowhere');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('no queue named nowhere');
    const both = await queue('requeue', '1.2', '--queue', 'shunt');
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('give either an entry id or --all/--queue');
  });

  it('--all prints a summary for people', async () => {
    await preservedInBad('in', 'one');
    await preservedInBad('out', 'two');
    const result = await queue('requeue', '--all');
    expect(result.code).toBe(0);
    expect(result.out).toBe('requeued 2 entries: 1 to in, 1 to out\n');
  });

  it('refuses a corrupt file and leaves it in bad', async () => {
    const id = await quarantinedCorrupt();
    const result = await queue('requeue', id);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`entry ${id} cannot be requeued: its queue file was corrupt`);
    expect((await listed('bad')).map((e) => e.id)).toEqual([id]);
    expect(await listed('in')).toEqual([]);
  });

  it('refuses an entry that is not in bad, shunt or retry', async () => {
    const id = await spool.switchboard('in').enqueue('x');
    const result = await queue('requeue', id);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('it is in in, not in bad, shunt or retry');
  });

  it.each([[[]], [['1.2', '--all']]])('needs exactly one of an id and --all (args %j)', async (args: string[]) => {
    const result = await queue('requeue', ...args);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('give either an entry id or --all');
  });

  const hasScript = spawnSync('script', ['--version']).status === 0;
  it.skipIf(!hasScript)('--all draws a progress bar when stderr is a terminal', async () => {
    await preservedInBad('in', 'one');
    await preservedInBad('out', 'two');
    // util-linux script(1) runs the command on a pseudo-terminal.
    const command = `'${process.execPath}' '${BIN}' --home '${home}' queue requeue --all`;
    const result = spawnSync('script', ['-qec', command, '/dev/null'], { encoding: 'utf8' });
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('\rrequeueing [##############################] 2/2 100%');
    expect(result.stdout).toContain('requeued 2 entries');
    expect((await counts()).get('bad')?.psv).toBe(0);
  });
});

describe('the progress bar of requeue --all', () => {
  function fakeStream(isTTY: boolean) {
    const writes: string[] = [];
    return { writes, stream: { isTTY, write: (text: string) => writes.push(text) > 0 } };
  }

  it('draws count, total and percent on one \\r-updated line, then clears it', () => {
    let clock = 0;
    const { writes, stream } = fakeStream(true);
    const progress = createProgress('requeueing', stream, () => clock);
    progress.update(1, 4);
    clock += 10;
    progress.update(2, 4); // too soon after the last frame: skipped
    clock += 100;
    progress.update(3, 4);
    progress.update(4, 4); // the last frame is always drawn
    progress.end();
    expect(writes).toEqual([
      `\r${renderProgress('requeueing', 1, 4)}\x1b[K`,
      `\r${renderProgress('requeueing', 3, 4)}\x1b[K`,
      `\r${renderProgress('requeueing', 4, 4)}\x1b[K`,
      '\r\x1b[K',
    ]);
    expect(renderProgress('requeueing', 1, 4)).toBe(`requeueing [${'#'.repeat(8)}${'.'.repeat(22)}] 1/4 25%`);
  });

  it('writes nothing when the stream is not a terminal', () => {
    const { writes, stream } = fakeStream(false);
    const progress = createProgress('requeueing', stream);
    progress.update(1, 1);
    progress.end();
    expect(writes).toEqual([]);
  });
});

describe('queue purge', () => {
  it('--older-than removes old waiting and preserved entries, keeps fresh ones and never touches in-flight ones', async () => {
    const shunt = spool.switchboard('shunt');
    const old = await shunt.enqueue('old');
    const fresh = await shunt.enqueue('fresh');
    const busy = await shunt.enqueue('busy');
    await shunt.dequeue(busy);
    const oldBad = await preservedInBad('in', 'old');
    const eightDaysAgo = new Date(Date.now() - 8 * 86_400_000);
    for (const [queueName, id, state] of [['shunt', old, 'pck'], ['shunt', busy, 'bak'], ['bad', oldBad, 'psv']] as const) {
      await utimes(entryPath(spool.root, queueName, id, state), eightDaysAgo, eightDaysAgo);
    }

    const result = await json<{ queue: string; olderThanMs: number; removed: string[] }>('purge', 'shunt', '--older-than', '7d');
    expect(result).toEqual({ queue: 'shunt', olderThanMs: 7 * 86_400_000, removed: [old] });
    expect((await listed('shunt')).map((e) => [e.id, e.state])).toEqual([[fresh, 'pck'], [busy, 'bak']]);

    const text = await queue('purge', 'bad', '--older-than', '1w');
    expect(text.code).toBe(0);
    expect(text.out).toBe('removed 1 entry older than 1w from bad\n');
    expect(await listed('bad')).toEqual([]);
  });

  it.each(['7x', '7', '-1d', '1.5h', '', 'd', '7 d'])('rejects the duration %j with exit 2 and says why', async (duration) => {
    const id = await spool.switchboard('in').enqueue('x');
    const result = await queue('purge', 'in', '--older-than', duration);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`invalid duration ${JSON.stringify(duration)}`);
    expect((await listed('in')).map((e) => e.id)).toEqual([id]);
  });

  it('requires --older-than', async () => {
    const result = await queue('purge', 'in');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("required option '--older-than <duration>'");
  });

  it('an unknown queue exits 1 with a message naming it', async () => {
    const result = await queue('purge', 'nosuch', '--older-than', '1d');
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`switchyard: SY_QUEUE_UNKNOWN: no queue named nosuch; looked in the home ${home}\n`);
  });
});

describe('entries that cannot be read at all (a directory, a FIFO, a symbolic link loop)', () => {
  type Kind = 'directory' | 'fifo' | 'symlink-loop';
  const KINDS: [Kind, RegExp][] = [
    ['directory', /^a directory, not a queue file$/],
    ['fifo', /^a FIFO \(named pipe\), not a queue file$/],
    ['symlink-loop', /^a symbolic link to ".+", not a queue file/],
  ];

  /** Something that is not a queue file at a waiting entry's name in `in`. */
  async function unreadableIn(kind: Kind): Promise<string> {
    const id = makeEntryId(Buffer.from(kind), '', nowMicros());
    const path = entryPath(spool.root, 'in', id, 'pck');
    await mkdir(dirname(path), { recursive: true });
    if (kind === 'directory') await mkdir(path);
    else if (kind === 'fifo') expect(spawnSync('mkfifo', [path]).status).toBe(0);
    else await symlink(basename(path), path);
    return id;
  }

  function isKind(path: string, kind: Kind): boolean {
    const stats = lstatSync(path);
    return kind === 'directory' ? stats.isDirectory() : kind === 'fifo' ? stats.isFIFO() : stats.isSymbolicLink();
  }

  it.each(KINDS)('show on a waiting %s prints why it cannot be read (never blocks on a FIFO); --raw exits 1 with the reason', async (kind, reason) => {
    const id = await unreadableIn(kind);
    const facts = await json<{ unreadable: string | null; corrupt: string | null; state: string }>('show', id);
    expect(facts.unreadable).toMatch(reason);
    expect(facts).toMatchObject({ corrupt: null, state: 'pck' });
    const text = await queue('show', id);
    expect(text.code).toBe(0);
    expect(text.out).toContain(`\nunreadable ${facts.unreadable!}\n`);
    expect(text.out).toContain(`\`queue move ${id} bad\` sets it aside`);
    expect(text.out).not.toMatch(/EISDIR|ELOOP/);
    const raw = await queue('show', '--raw', id);
    expect(raw.code).toBe(1);
    expect(raw.stderr).toMatch(new RegExp(`entry ${id.replace('+', '\\+')} in in cannot be read: a `));
    // Listing and counting the queue (the commands, run for real) still work, and say what is wrong.
    const [entry] = await listedViaCli('in');
    expect(entry).toMatchObject({ id, error: expect.stringMatching(reason) });
    expect((await countsViaCli()).get('in')?.pck).toBe(1);
  });

  it.each(KINDS)('a %s moved to bad is set aside as it is with a record of why; show prints the reason; requeue puts it back in its queue; move takes it elsewhere', async (kind, reason) => {
    const id = await unreadableIn(kind);
    const moved = await queue('move', id, 'bad');
    expect(moved.code).toBe(0);
    expect(moved.out).toBe(`moved ${id} from in to bad\n`);
    expect(isKind(setAsidePath(spool.root, id), kind)).toBe(true);
    const [record] = await listed('bad');
    expect(record).toMatchObject({ id, state: 'psv', error: null });
    expect(record?.reason).toMatch(new RegExp(`^unreadable queue file: ${reason.source.slice(1)}`));
    expect(record?.control).toMatchObject({ originalQueue: 'in', setAside: { file: `${id}.raw` } });

    const shown = await queue('show', id);
    expect(shown.code).toBe(0);
    expect(shown.out).toMatch(/^reason {4}unreadable queue file: a /m);
    expect(shown.out).toContain(`kept at   ${setAsidePath(spool.root, id)}`);
    expect(shown.out).toContain(`\`queue requeue ${id}\` puts it back in in`);

    const requeued = await queue('requeue', id);
    expect(requeued.code).toBe(0);
    expect(requeued.out).toBe(`requeued ${id} from bad to in\n`);
    expect(isKind(entryPath(spool.root, 'in', id, 'pck'), kind)).toBe(true);
    expect(await listed('bad')).toEqual([]);
    expect(existsSync(setAsidePath(spool.root, id))).toBe(false);

    // Into bad again, then out to another queue by `move`.
    expect((await queue('move', id, 'bad')).code).toBe(0);
    const elsewhere = await queue('move', id, 'shunt');
    expect(elsewhere.code).toBe(0);
    expect(elsewhere.out).toBe(`moved ${id} from bad to shunt\n`);
    expect(isKind(entryPath(spool.root, 'shunt', id, 'pck'), kind)).toBe(true);
    expect(await listed('bad')).toEqual([]);
  });

  it('what a runner set aside (the switchboard met it in dequeue) is shown, requeued by --all, and purged with its file', async () => {
    const ids: string[] = [];
    for (const [kind] of KINDS) {
      const id = await unreadableIn(kind);
      await expect(spool.switchboard('in').dequeue(id)).rejects.toMatchObject({ code: 'SY_QUEUE_UNREADABLE', setAside: true });
      ids.push(id);
    }
    expect((await listed('bad')).map((e) => e.id).sort()).toEqual([...ids].sort());
    const all = await json<{ requeued: string[]; skipped: unknown[] }>('requeue', '--all');
    expect([...all.requeued].sort()).toEqual([...ids].sort());
    expect(all.skipped).toEqual([]);
    for (const [index, [kind]] of KINDS.entries()) expect(isKind(entryPath(spool.root, 'in', ids[index]!, 'pck'), kind)).toBe(true);

    for (const id of ids) await expect(spool.switchboard('in').dequeue(id)).rejects.toMatchObject({ setAside: true });
    const purged = await json<{ removed: string[] }>('purge', 'bad', '--older-than', '0s');
    expect([...purged.removed].sort()).toEqual([...ids].sort());
    for (const id of ids) expect(existsSync(setAsidePath(spool.root, id))).toBe(false);
    expect((await counts()).get('bad')?.psv).toBe(0);
  });
});
