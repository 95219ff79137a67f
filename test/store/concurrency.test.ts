/**
 * Several processes on one store file, as the CLI and the runners will be:
 * a writer holding a transaction makes another's write fail with the
 * temporary SY_STORE_BUSY after the busy timeout (or succeed once released),
 * readers are never blocked (WAL), and processes opening a fresh database at
 * once migrate it exactly once, and what one process remembers of a list
 * (its settings, its delivery members) never outlives another process's
 * change to it. The other process is test/fixtures/store-agent.ts.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StoreBusyError } from '../../src/store/errors.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import { MIGRATIONS } from '../../src/store/migrations.js';

const AGENT = fileURLToPath(new URL('../../dist/test/fixtures/store-agent.js', import.meta.url));

let home: string;
let file: string;
const children: ChildProcessWithoutNullStreams[] = [];

interface Agent {
  child: ChildProcessWithoutNullStreams;
  /** Resolves with the next line the agent prints that starts with `prefix`. */
  line(prefix: string): Promise<string>;
  exited: Promise<number | null>;
}

function agent(...args: string[]): Agent {
  const child = spawn(process.execPath, [AGENT, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  children.push(child);
  const seen: string[] = [];
  const waiting: { prefix: string; resolve: (line: string) => void }[] = [];
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  createInterface({ input: child.stdout }).on('line', (text) => {
    const index = waiting.findIndex((w) => text.startsWith(w.prefix));
    if (index >= 0) waiting.splice(index, 1)[0]?.resolve(text);
    else seen.push(text);
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return {
    child,
    exited,
    line: (prefix) =>
      new Promise((resolve, reject) => {
        const index = seen.findIndex((text) => text.startsWith(prefix));
        if (index >= 0) return resolve(seen.splice(index, 1)[0] as string);
        waiting.push({ prefix, resolve });
        void exited.then((code) => reject(new Error(`agent exited ${code} before printing ${prefix}: ${stderr}`)));
      }),
  };
}

beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'switchyard-store-conc-'));
  file = join(home, 'switchyard.db');
});

afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await rm(home, { recursive: true, force: true });
});

describe('two processes on one store', () => {
  it('a write blocked past the busy timeout fails with the temporary SY_STORE_BUSY; after the release it succeeds', async () => {
    const store = new SqliteStore({ file, busyTimeoutMs: 200 });
    await store.createList({ address: 'dev@example.org' });
    const holder = agent('hold', file);
    await holder.line('locked');

    const started = performance.now();
    const error = await store.addMember('dev@example.org', { address: 'a@example.org' }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(StoreBusyError);
    expect(error).toMatchObject({ code: 'SY_STORE_BUSY', temporary: true });
    expect(performance.now() - started).toBeGreaterThanOrEqual(150);

    // Readers are not blocked by the writer (WAL), and do not see its uncommitted list.
    expect((await store.lists()).map((l) => l.address)).toEqual(['dev@example.org']);

    holder.child.stdin.write('release\n');
    await holder.line('released');
    expect(await holder.exited).toBe(0);
    await store.addMember('dev@example.org', { address: 'a@example.org' });
    expect((await store.lists()).map((l) => l.address)).toEqual(['dev@example.org', 'held@example.org']);
    expect(await store.countMembers('dev@example.org')).toBe(1);
    await store.close();
  });

  it('a write waits for a transaction shorter than the busy timeout and then succeeds', async () => {
    const store = new SqliteStore({ file, busyTimeoutMs: 30_000 });
    await store.createList({ address: 'dev@example.org' });
    const holder = agent('hold', file, '--for', '300');
    await holder.line('locked');
    const member = await store.addMember('dev@example.org', { address: 'a@example.org' });
    expect(member.address).toBe('a@example.org');
    // The holder committed first: its list is there too.
    expect(await store.findList('held@example.org')).not.toBeNull();
    expect(await holder.exited).toBe(0);
    await store.close();
  });

  it('processes opening a fresh database at once apply each migration exactly once', async () => {
    const agents = ['a', 'b', 'c', 'd'].map((name) => agent('create', file, `${name}@example.org`));
    await Promise.all(agents.map((a, i) => a.line(`created ${'abcd'[i]}@example.org`)));
    expect(await Promise.all(agents.map((a) => a.exited))).toEqual([0, 0, 0, 0]);
    const db = new Database(file, { readonly: true });
    const versions = (db.prepare('SELECT version FROM schema_migrations ORDER BY version').all() as { version: number }[]).map((r) => r.version);
    const lists = (db.prepare('SELECT address FROM lists ORDER BY address').all() as { address: string }[]).map((r) => r.address);
    db.close();
    expect(versions).toEqual(MIGRATIONS.map((m) => m.version));
    expect(lists).toEqual(['a@example.org', 'b@example.org', 'c@example.org', 'd@example.org']);
  });

  it("a store's next read of a list, its settings, members and delivery members sees each change another process made, however often it read them before", async () => {
    const store = new SqliteStore({ file, busyTimeoutMs: 5000 });
    const list = 'dev@example.org';
    await store.createList({ address: list });
    await store.addMembers(list, [{ address: 'anne@example.org' }, { address: 'bob@example.org' }]);
    const post = { sender: 'anne@example.org', explicitRecipients: [list] };
    const call = async (method: string, ...args: unknown[]): Promise<void> => {
      const other = agent('call', file, method, JSON.stringify(args));
      await other.line(`called ${method}`);
      expect(await other.exited).toBe(0);
    };
    // Read twice before each change: the second read is the one that may come from memory.
    const read = async (): Promise<{ addresses: string[]; prefix: string }> => {
      await store.deliveryAddresses(list, post);
      await store.getList(list);
      return { addresses: await store.deliveryAddresses(list, post), prefix: (await store.getList(list)).settings.subjectPrefix };
    };
    expect(await read()).toEqual({ addresses: ['anne@example.org', 'bob@example.org'], prefix: '[Dev] ' });

    await call('addMember', list, { address: 'carl@example.org' });
    expect((await read()).addresses).toEqual(['anne@example.org', 'bob@example.org', 'carl@example.org']);
    await call('updateMember', list, 'bob@example.org', 'member', { deliveryStatus: 'by_user' });
    expect((await read()).addresses).toEqual(['anne@example.org', 'carl@example.org']);
    // A preference that depends on the post: anne's own post no longer goes to her, others' still do.
    expect(await store.findMember(list, 'anne@example.org')).toMatchObject({ receiveOwnPostings: true });
    await call('updateMember', list, 'anne@example.org', 'member', { receiveOwnPostings: false });
    expect(await store.findMember(list, 'anne@example.org')).toMatchObject({ receiveOwnPostings: false });
    expect((await read()).addresses).toEqual(['carl@example.org']);
    expect(await store.deliveryAddresses(list, { sender: 'carl@example.org', explicitRecipients: [] })).toEqual(['anne@example.org', 'carl@example.org']);
    await call('updateMember', list, 'carl@example.org', 'member', { deliveryMode: 'mime_digests' });
    expect((await read()).addresses).toEqual([]);
    await call('updateList', list, { settings: { subjectPrefix: '[Changed] ' } });
    expect((await read()).prefix).toBe('[Changed] ');
    expect(await store.countDigestMembers(list)).toEqual({ mime_digests: 1 });
    await call('removeMember', list, 'anne@example.org');
    expect(await store.findMember(list, 'anne@example.org')).toBeNull();
    expect(await store.deliveryAddresses(list, { sender: 'carl@example.org', explicitRecipients: [] })).toEqual([]);
    await call('updateMember', list, 'carl@example.org', 'member', { deliveryMode: 'regular' });
    expect(await store.countDigestMembers(list)).toEqual({});
    // A list unknown a moment ago is found once another process created it.
    expect(await store.findList('new@example.org')).toBeNull();
    await call('createList', { address: 'new@example.org' });
    expect(await store.findList('new@example.org')).toMatchObject({ address: 'new@example.org' });
    await store.close();
  });
});
