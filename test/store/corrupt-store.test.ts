/**
 * A damaged switchyard.db (issue 11 §6): SQLite's SQLITE_NOTADB and
 * SQLITE_CORRUPT become StoreCorruptError (SY_STORE_CORRUPT, temporary), and
 * ReopeningStore, which the runners hold, reports the damage, fails fast
 * while it lasts and picks up a recovered file without a restart. Real
 * database files, damaged on disk.
 */
import { copyFile, mkdtemp, open, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore, ReopeningStore, StoreCorruptError, type StoreHealth } from '../../src/store/index.js';

let home: string;
let db: string;

/** Overwrite `length` bytes at `offset` of `file` with `byte` (the file is closed: no WAL). */
async function damage(file: string, offset: number, length: number, byte = 0xaa): Promise<void> {
  const handle = await open(file, 'r+');
  try {
    await handle.write(Buffer.alloc(length, byte), 0, length, offset);
  } finally {
    await handle.close();
  }
}

beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'sy-corrupt-'));
  db = join(home, 'switchyard.db');
  const store = openStore(home);
  await store.createList({ address: 'dev@lists.example.org' });
  await store.addMember('dev@lists.example.org', { address: 'anne@example.org' });
  await store.close();
});

afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

describe('a damaged list store', () => {
  it('a file that is not a database (header overwritten) is SY_STORE_CORRUPT, temporary, naming the file and what to do', async () => {
    await damage(db, 0, 16);
    let caught: unknown;
    try {
      openStore(home);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(StoreCorruptError);
    const error = caught as StoreCorruptError;
    expect(error.code).toBe('SY_STORE_CORRUPT');
    expect(error.temporary).toBe(true);
    expect(error.sqliteCode).toBe('SQLITE_NOTADB');
    expect(error.message).toContain(db);
    expect(error.message).toContain('restore a backup');
  });

  it('damaged table pages are SY_STORE_CORRUPT (SQLITE_CORRUPT), not a raw SqliteError', async () => {
    const { size } = await stat(db);
    await damage(db, 4096, size - 4096);
    const caught = await (async () => {
      const store = openStore(home);
      try {
        return await store.getList('dev@lists.example.org').then(() => undefined, (error: unknown) => error);
      } finally {
        await store.close();
      }
    })().catch((error: unknown) => error);
    expect(caught).toBeInstanceOf(StoreCorruptError);
    expect((caught as StoreCorruptError).sqliteCode).toMatch(/^SQLITE_CORRUPT/);
  });

  it('ReopeningStore: reports the damage once, fails fast without reopening, and picks up a restored file after the interval', async () => {
    const backup = join(home, 'backup.db');
    await copyFile(db, backup);
    await damage(db, 0, 16);
    let clock = 1_000_000;
    let opens = 0;
    const changes: Array<string | undefined> = [];
    const reopening = new ReopeningStore(
      {
        open: ({ verify }) => {
          opens++;
          return openStore(home, { verify });
        },
        onChange: (health: StoreHealth) => changes.push(health.corrupt?.error.code),
        reopenIntervalMs: 10_000,
        now: () => clock,
      },
      db,
    );
    const { store } = reopening;
    await expect(store.findList('dev@lists.example.org')).rejects.toBeInstanceOf(StoreCorruptError);
    expect(reopening.health.corrupt?.error.sqliteCode).toBe('SQLITE_NOTADB');
    await expect(store.findList('dev@lists.example.org')).rejects.toBeInstanceOf(StoreCorruptError);
    expect(opens).toBe(1);
    expect(changes).toEqual(['SY_STORE_CORRUPT']);

    await copyFile(backup, db);
    clock += 5_000;
    await expect(store.findList('dev@lists.example.org')).rejects.toBeInstanceOf(StoreCorruptError);
    expect(opens).toBe(1);
    clock += 5_000;
    expect((await store.findList('dev@lists.example.org'))?.address).toBe('dev@lists.example.org');
    expect(opens).toBe(2);
    expect(reopening.health.corrupt).toBeUndefined();
    expect(changes).toEqual(['SY_STORE_CORRUPT', undefined]);
    expect(store.location).toBe(db);
    await store.close();
  });

  it('ReopeningStore: a reopen checks the whole file, so damage the next query would miss still counts', async () => {
    await damage(db, 0, 16);
    let clock = 0;
    const reopening = new ReopeningStore({ open: ({ verify }) => openStore(home, { verify }), reopenIntervalMs: 1, now: () => clock }, db);
    await expect(reopening.store.lists()).rejects.toBeInstanceOf(StoreCorruptError);
    // A new file with one page damaged that `lists()` never reads: the root page of the complaints table.
    await rm(db);
    const fresh = openStore(home);
    await fresh.createList({ address: 'dev@lists.example.org' });
    await fresh.close();
    const schema = new Database(db, { readonly: true });
    const { rootpage } = schema.prepare("SELECT rootpage FROM sqlite_master WHERE type = 'table' AND name = 'complaints'").get() as { rootpage: number };
    const pageSize = schema.pragma('page_size', { simple: true }) as number;
    schema.close();
    expect((rootpage - 1) * pageSize).toBeLessThan((await stat(db)).size);
    await damage(db, (rootpage - 1) * pageSize, pageSize);
    const unchecked = openStore(home);
    expect(await unchecked.lists()).toHaveLength(1);
    await unchecked.close();
    clock += 10;
    await expect(reopening.store.lists()).rejects.toBeInstanceOf(StoreCorruptError);
    expect(reopening.health.corrupt).toBeDefined();
    await reopening.close();
  });
});
