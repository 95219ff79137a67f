/**
 * `switchyard import archive`: an mbox file as HyperKitty and pipermail
 * write it (mboxo) or an mboxrd file goes into the list's archive with its
 * messages' bytes, Message-IDs and dates; a second run adds nothing.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { makeHome, removeHome, runCli, testConfig } from '../master/harness.js';
import { readRecordHeader, recordStarts, unquoteMboxrd } from '../../src/mail/mboxrd.js';

const LIST = 'dev@lists.example.org';
let home: string;

const message = (id: string, body: string): string => `From: Ann <ann@example.org>\nTo: ${LIST}\nSubject: ${id}\nMessage-ID: <${id}@example.org>\nDate: Mon, 02 Jan 2006 15:04:05 +0000\n\n${body}`;

/** The records of an archive: From_ line and the message as a reader unquotes it. */
async function records(): Promise<{ fromLine: string; message: string }[]> {
  const data = await readFile(join(home, 'archives', `${LIST}.mbox`));
  const starts = recordStarts(data, true);
  return starts.map((start, i) => {
    const record = data.subarray(start, starts[i + 1] ?? data.length);
    const header = readRecordHeader(record);
    expect(header?.length).toBe(record.length);
    const text = record.toString('latin1');
    const firstEnd = text.indexOf('\n');
    const secondEnd = text.indexOf('\n', firstEnd + 1);
    return { fromLine: text.slice(0, firstEnd), message: unquoteMboxrd(record.subarray(secondEnd + 1, record.length - 1)).toString('latin1') };
  });
}

beforeAll(async () => {
  home = await makeHome(testConfig(''));
  expect((await runCli(['--home', home, 'lists', 'create', LIST])).code).toBe(0);
});

afterAll(async () => {
  if (home) await removeHome(home);
});

it('imports an mboxo file (HyperKitty, pipermail) keeping bytes, Message-IDs and dates; a second run adds nothing', async () => {
  const first = message('one', 'Hello.\n>From the start, mboxo quoted this line.\n>>From here on it did not.\n');
  const second = message('two', 'Second.\n');
  const file = join(home, 'export.mbox');
  // mboxo: the body line "From the start" was written ">From the start"; ">>From" stays as it was.
  await writeFile(
    file,
    `From ann@example.org Mon Jan  2 15:04:05 2006\n${first.replace('>From the start', '>From the start')}\nFrom ann@example.org Tue Jan  3 10:00:00 2006\n${second}\n`,
    'latin1',
  );
  const result = await runCli(['--home', home, 'import', 'archive', '--list', LIST, file, '--json']);
  expect(result.code, result.stderr).toBe(0);
  expect(JSON.parse(result.stdout).files[0]).toMatchObject({ read: 2, added: 2, existing: 0 });
  const archived = await records();
  expect(archived.map((r) => r.fromLine)).toEqual(['From ann@example.org Mon Jan  2 15:04:05 2006', 'From ann@example.org Tue Jan  3 10:00:00 2006']);
  expect(archived[0]!.message).toBe(first.replace('>From the start', 'From the start'));
  expect(archived[1]!.message).toBe(second);

  const again = await runCli(['--home', home, 'import', 'archive', '--list', LIST, file, '--json']);
  expect(JSON.parse(again.stdout).files[0]).toMatchObject({ read: 2, added: 0, existing: 2 });
  expect(await records()).toHaveLength(2);
});

it('imports an mboxrd file with --quoting mboxrd, one ">" taken from every ">*From " line; known Message-IDs are skipped', async () => {
  const third = message('three', 'From the top.\n>From a quote.\n');
  const file = join(home, 'rd.mbox');
  await writeFile(file, `From ann@example.org Wed Jan  4 09:00:00 2006\n${third.replace('From the top', '>From the top').replace('>From a quote', '>>From a quote')}\nFrom x Thu Jan  5 09:00:00 2006\n${message('one', 'same id as before\n')}\n`, 'latin1');
  const result = await runCli(['--home', home, 'import', 'archive', '--list', LIST, '--quoting', 'mboxrd', file, '--json']);
  expect(result.code, result.stderr).toBe(0);
  expect(JSON.parse(result.stdout).files[0]).toMatchObject({ read: 2, added: 1, existing: 1 });
  const archived = await records();
  expect(archived).toHaveLength(3);
  expect(archived[2]!.message).toBe(third);
});

it('refuses a file that is not an mbox, and a list that does not exist', async () => {
  const file = join(home, 'not.mbox');
  await writeFile(file, 'Subject: hi\n\nno From_ line\n');
  const bad = await runCli(['--home', home, 'import', 'archive', '--list', LIST, file, '--json']);
  expect(bad.code).toBe(2);
  expect(JSON.parse(bad.stdout).error.code).toBe('SY_IMPORT_USAGE');
  const unknown = await runCli(['--home', home, 'import', 'archive', '--list', 'nosuch@lists.example.org', file, '--json']);
  expect(JSON.parse(unknown.stdout).error.code).toBe('SY_LIST_UNKNOWN');
});
