/**
 * `switchyard import archive` and `switchyard archive export`: an mbox file
 * as HyperKitty and pipermail write it (mboxo) or an mboxrd file goes into
 * the list's archive in the store with its messages' bytes, Message-IDs and
 * dates; a second run adds nothing; the export is mboxrd (a body line
 * "From me" quoted ">From me", CRLF kept) and imports back to the same rows;
 * the reader streams (any chunking gives the same messages).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHome, removeHome, runCli, testConfig } from '../master/harness.js';
import { runHomeCliInProcess } from '../support/cli.js';
import { archivePost } from '../../src/app/archive.js';
import { MboxParser, readMbox } from '../../src/migrate/mbox-reader.js';
import { openStore, type ArchivedMessage, type Store } from '../../src/store/index.js';

const LIST = 'dev@lists.example.org';
let home: string;

const message = (id: string, body: string): string => `From: Ann <ann@example.org>\nTo: ${LIST}\nSubject: ${id}\nMessage-ID: <${id}@example.org>\nDate: Mon, 02 Jan 2006 15:04:05 +0000\n\n${body}`;

async function withStore<T>(at: string, work: (store: Store) => Promise<T>): Promise<T> {
  const store = openStore(at);
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}

const rows = (at: string, list = LIST): Promise<ArchivedMessage[]> => withStore(at, (store) => store.archivedMessages(list));

/** `switchyard ARGS` as the built binary, which must succeed. */
async function cli(...args: string[]) {
  const result = await runCli(args);
  expect(result.code, result.stderr).toBe(0);
  return result;
}

/**
 * `switchyard --home HOME ARGS` in this process (program.ts run(): the binary's exit code, stdout and
 * stderr) without a node start-up (~0.35 s of CPU): for the runs after the first of their kind, which
 * run as the built binary (cli, runCli).
 */
async function cliIn(at: string, ...args: string[]) {
  const result = await runHomeCliInProcess(at, args);
  expect(result.code, result.stderr).toBe(0);
  return result;
}

/** The list straight into the store, as `lists create` makes it (tested in test/cli/lists.test.ts). */
const createList = (at: string): Promise<unknown> => withStore(at, (store) => store.createList({ address: LIST }));

beforeAll(async () => {
  home = await makeHome(testConfig(''));
  await createList(home);
});

afterAll(async () => {
  if (home) await removeHome(home);
});

describe('import archive', () => {
  it('imports an mboxo file (HyperKitty, pipermail) keeping bytes, Message-IDs and dates; a second run adds nothing', async () => {
    const first = message('one', 'Hello.\n>From the start, mboxo quoted this line.\n>>From here on it did not.\n');
    const second = message('two', 'Second.\n');
    const file = join(home, 'export.mbox');
    // mboxo: the body line "From the start" was written ">From the start"; ">>From" stays as it was.
    await writeFile(file, `From ann@example.org Mon Jan  2 15:04:05 2006\n${first}\nFrom ann@example.org Tue Jan  3 10:00:00 2006\n${second}\n`, 'latin1');
    const result = await cli('--home', home, 'import', 'archive', '--list', LIST, file, '--json');
    expect(JSON.parse(result.stdout).files[0]).toMatchObject({ read: 2, added: 2, existing: 0 });
    const archived = await rows(home);
    expect(archived.map((r) => [r.archivedAt.toISOString(), r.sender, r.messageId])).toEqual([
      ['2006-01-02T15:04:05.000Z', 'ann@example.org', '<one@example.org>'],
      ['2006-01-03T10:00:00.000Z', 'ann@example.org', '<two@example.org>'],
    ]);
    expect(archived[0]!.raw.toString('latin1')).toBe(first.replace('>From the start', 'From the start'));
    expect(archived[1]!.raw.toString('latin1')).toBe(second);

    const again = await cliIn(home, 'import', 'archive', '--list', LIST, file, '--json');
    expect(JSON.parse(again.stdout).files[0]).toMatchObject({ read: 2, added: 0, existing: 2 });
    expect(await rows(home)).toHaveLength(2);
  });

  it('imports an mboxrd file with --quoting mboxrd, one ">" taken from every ">*From " line; known Message-IDs are skipped', async () => {
    const third = message('three', 'From the top.\n>From a quote.\n');
    const file = join(home, 'rd.mbox');
    await writeFile(file, `From ann@example.org Wed Jan  4 09:00:00 2006\n${third.replace('From the top', '>From the top').replace('>From a quote', '>>From a quote')}\nFrom x Thu Jan  5 09:00:00 2006\n${message('one', 'same id as before\n')}\n`, 'latin1');
    const dry = await cliIn(home, 'import', 'archive', '--list', LIST, '--quoting', 'mboxrd', file, '--json', '--dry-run');
    expect(JSON.parse(dry.stdout).files[0]).toMatchObject({ read: 2, added: 1, existing: 1 });
    expect(await rows(home)).toHaveLength(2);
    const result = await cli('--home', home, 'import', 'archive', '--list', LIST, '--quoting', 'mboxrd', file, '--json');
    expect(JSON.parse(result.stdout).files[0]).toMatchObject({ read: 2, added: 1, existing: 1 });
    const archived = await rows(home);
    expect(archived).toHaveLength(3);
    expect(archived[2]!.raw.toString('latin1')).toBe(third);
  });

  it('refuses a file that is not an mbox, and a list that does not exist', async () => {
    const file = join(home, 'not.mbox');
    await writeFile(file, 'Subject: hi\n\nno From_ line\n');
    const bad = await runCli(['--home', home, 'import', 'archive', '--list', LIST, file, '--json']);
    expect(bad.code).toBe(2);
    expect(JSON.parse(bad.stdout).error.code).toBe('SY_IMPORT_USAGE');
    const unknown = await runHomeCliInProcess(home, ['import', 'archive', '--list', 'nosuch@lists.example.org', file, '--json']);
    expect(JSON.parse(unknown.stdout).error.code).toBe('SY_LIST_UNKNOWN');
  });
});

describe('archive export', () => {
  it('writes mboxrd with the bytes as archived (CRLF kept, "From me" quoted), which imports back to the same rows', async () => {
    const crlf = Buffer.from('From: Bea <bea@example.org>\r\nMessage-ID: <crlf@example.org>\r\nSubject: line ends\r\n\r\nFrom me\r\n>From you\r\nlast\r\n');
    const noId = Buffer.from('From: Cy <cy@example.org>\nSubject: no id\n\nFrom me, too\n\n');
    await withStore(home, async (store) => {
      await archivePost({ store }, { list: LIST, raw: crlf, sender: 'bea@example.org', receivedAt: new Date('2026-12-01T10:00:00.400Z') });
      await archivePost({ store }, { list: LIST, raw: noId, sender: '', receivedAt: new Date('2026-12-02T10:00:00Z') });
    });
    const out = join(home, 'dev-export.mbox');
    const result = await cli('--home', home, 'archive', 'export', LIST, '--output', out, '--json');
    const data = await readFile(out);
    expect(JSON.parse(result.stdout)).toEqual({ list: LIST, file: out, messages: 5, bytes: data.length });
    const text = data.toString('latin1');
    expect(text).toContain('From bea@example.org Tue Dec  1 10:00:00 2026\nFrom: Bea <bea@example.org>\r\nMessage-ID: <crlf@example.org>\r\nSubject: line ends\r\n\r\n>From me\r\n>>From you\r\nlast\r\n\n');
    expect(text).toContain('From MAILER-DAEMON Wed Dec  2 10:00:00 2026\nFrom: Cy <cy@example.org>\nSubject: no id\n\n>From me, too\n\n\n');
    // stdout gives the same bytes.
    const piped = await runCli(['--home', home, 'archive', 'export', LIST]);
    expect(piped.code).toBe(0);
    expect(Buffer.from(piped.stdout, 'latin1').length).toBe(data.length);

    // Re-imported into another site: the same rows.
    const other = await makeHome(testConfig(''));
    try {
      await createList(other);
      const imported = await cliIn(other, 'import', 'archive', '--list', LIST, '--quoting', 'mboxrd', out, '--json');
      expect(JSON.parse(imported.stdout).files[0]).toMatchObject({ read: 5, added: 5, existing: 0 });
      expect(await rows(other)).toEqual(await rows(home));
      const twice = await cliIn(other, 'import', 'archive', '--list', LIST, '--quoting', 'mboxrd', out, '--json');
      expect(JSON.parse(twice.stdout).files[0]).toMatchObject({ read: 5, added: 0, existing: 5 });
    } finally {
      await removeHome(other);
    }
  });

  it('refuses a list that is neither a list nor an archive; --json without --output is a usage error', async () => {
    const unknown = await runCli(['--home', home, 'archive', 'export', 'nosuch@lists.example.org', '--output', join(home, 'x.mbox'), '--json']);
    expect(unknown.code).toBe(1);
    expect(JSON.parse(unknown.stdout).error.code).toBe('SY_LIST_UNKNOWN');
    const usage = await runHomeCliInProcess(home, ['archive', 'export', LIST, '--json']);
    expect(usage.code).toBe(2);
    const help = await runHomeCliInProcess(home, ['archive', 'export', '--help']);
    expect(help.stdout).toContain('mboxrd');
  });
});

describe('mbox reader', () => {
  it('streams: the messages are the same however the file is cut into chunks', () => {
    const data = Buffer.from(`From a Mon Jan  2 15:04:05 2006\r\n${message('x', 'From-less\r\n>From q\r\n')}\r\n\r\nFrom b Tue Jan  3 10:00:00 2006\n${message('y', 'body\n')}\n`, 'latin1');
    const whole = readMbox(data, 'mboxrd');
    expect(whole).toHaveLength(2);
    for (const size of [1, 2, 7, 64]) {
      const parser = new MboxParser('mboxrd');
      const got = [];
      for (let at = 0; at < data.length; at += size) got.push(...parser.push(data.subarray(at, at + size)));
      got.push(...parser.end());
      expect(got).toEqual(whole);
    }
  });
});
