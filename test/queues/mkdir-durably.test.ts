/**
 * mkdirDurably (queues/durable-file.ts): a directory made for a queue's first
 * entry is itself made durable, by fsyncing every directory that gained an
 * entry; nothing is fsynced when nothing was created or durability is off.
 */
import { fsync, readlinkSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DirectorySync, mkdirDurably } from '../../queues/index.js';

let root: string;
let synced: string[];
let directories: DirectorySync;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'sy-mkdir-'));
  synced = [];
  // The real fsync, recording which directory each descriptor is.
  directories = new DirectorySync((fd, callback) => {
    synced.push(readlinkSync(`/proc/self/fd/${fd}`));
    fsync(fd, callback);
  });
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('mkdirDurably', () => {
  it('fsyncs the parent of the first directory created and each created directory above the last', async () => {
    const dir = join(root, 'queues', 'in', '3f');
    await mkdirDurably(dir, { directories });
    expect((await stat(dir)).isDirectory()).toBe(true);
    expect([...synced].sort()).toEqual([root, join(root, 'queues'), join(root, 'queues', 'in')].sort());
  });

  it('a sibling made later fsyncs only its own parent; an existing directory fsyncs nothing', async () => {
    await mkdirDurably(join(root, 'in', '00'), { directories });
    synced.length = 0;
    await mkdirDurably(join(root, 'in', '01'), { directories });
    expect(synced).toEqual([join(root, 'in')]);
    synced.length = 0;
    await mkdirDurably(join(root, 'in', '01'), { directories });
    expect(synced).toEqual([]);
  });

  it('with fsync off (durability "none") only makes the directories', async () => {
    const dir = join(root, 'out', 'ff');
    await mkdirDurably(dir, { fsync: false, directories });
    expect((await stat(dir)).isDirectory()).toBe(true);
    expect(synced).toEqual([]);
  });
});
