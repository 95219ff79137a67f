/**
 * The checkpoint journal's batching, on a real file: a recipient counts as
 * done only once its line is on disk; `unsynced` counts the rest; an idle
 * journal with `delayMs` waits for more lines unless `flushAt` recipients
 * wait, a caller asks (`now`, synced()), or it is closed; what it wrote is
 * what the next open() reads back.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CheckpointJournal } from '../../../runners/outgoing/checkpoint-journal.js';

const dirs: string[] = [];

afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function journalFile(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-journal-'));
  dirs.push(dir);
  return join(dir, 'entry.journal');
}

async function text(path: string): Promise<string> {
  return readFile(path, 'utf8').catch(() => '');
}

describe('CheckpointJournal batching', () => {
  it('an idle journal with delayMs holds lines (unsynced, not done) until synced() writes them in one go', async () => {
    const path = await journalFile();
    // A delay no test run reaches: only synced() can have written the lines.
    const journal = await CheckpointJournal.open(path, true, { delayMs: 3_600_000, flushAt: 100 });
    const first = journal.record('done', ['a@x.example']);
    const second = journal.record('done', ['b@x.example', 'c@x.example']);
    expect(journal.unsynced).toBe(3);
    expect(journal.done.size).toBe(0);
    await journal.synced();
    await Promise.all([first, second]);
    expect(journal.unsynced).toBe(0);
    expect([...journal.done]).toEqual(['a@x.example', 'b@x.example', 'c@x.example']);
    expect(await text(path)).toBe('{"done":["a@x.example"]}\n{"done":["b@x.example","c@x.example"]}\n');
    await journal.close();
  });

  it('writes at once when flushAt recipients wait or the caller waits (now), and close() writes what is left', async () => {
    const path = await journalFile();
    const journal = await CheckpointJournal.open(path, true, { delayMs: 3_600_000, flushAt: 3 });
    void journal.record('done', ['a@x.example', 'b@x.example']);
    await journal.record('done', ['c@x.example']);
    expect(journal.done.size).toBe(3);
    await journal.record('failed', ['d@x.example'], true);
    expect([...journal.failed]).toEqual(['d@x.example']);
    const pending = journal.record('done', ['e@x.example']);
    await journal.close();
    await pending;
    const reopened = await CheckpointJournal.open(path, true);
    expect([...reopened.done].sort()).toEqual(['a@x.example', 'b@x.example', 'c@x.example', 'e@x.example']);
    expect([...reopened.failed]).toEqual(['d@x.example']);
    expect(reopened.lines).toBe(4);
  });

  it('with a short delay the lines go out by themselves', async () => {
    const path = await journalFile();
    const journal = await CheckpointJournal.open(path, false, { delayMs: 5, flushAt: 100 });
    await journal.record('done', ['a@x.example']);
    expect(journal.unsynced).toBe(0);
    expect(await text(path)).toBe('{"done":["a@x.example"]}\n');
    await journal.close();
  });
});
