/**
 * The archive runner and its mbox files: mboxrd quoting, one file per list
 * under <home>/archives with mode 0640, list addresses validated before they
 * become paths, duplicate copies skipped, a torn last record cut off, and a
 * real runner process SIGKILLed again and again mid-stream leaving every post
 * exactly once and no torn record.
 */
import { spawn } from 'node:child_process';
import { appendFile, mkdtemp, readFile, rm, stat, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import ArchiveRunner from '../../runners/archive.js';
import { archivePath, MboxFile } from '../../runners/archive/mbox-file.js';
import { archiveKey, mboxrdRecord, quoteMboxrd, readRecordHeader, recordStarts, unquoteMboxrd } from '../../src/mail/mboxrd.js';
import { Switchboard } from '../../queues/index.js';
import { cleanup, makeSpool, runnerOptions, startRunner } from '../runners/harness.js';
import { ROOT } from '../master/harness.js';

const homes: string[] = [];
afterEach(async () => {
  await cleanup();
  for (const home of homes.splice(0)) await rm(home, { recursive: true, force: true });
});

async function tempHome(): Promise<string> {
  const home = await mkdtemp(join(tmpdir(), 'sy-archive-'));
  homes.push(home);
  return home;
}

interface ArchivedRecord {
  key: string;
  length: number;
  actual: number;
  message: Buffer;
}

/** Every record of an mbox file, checked for its declared length. */
function readMbox(bytes: Buffer): ArchivedRecord[] {
  const starts = recordStarts(bytes, true);
  return starts.map((start, i) => {
    const end = starts[i + 1] ?? bytes.length;
    const record = bytes.subarray(start, end);
    const header = readRecordHeader(record);
    if (header === undefined) throw new Error(`record at ${start} has no archive field`);
    const firstLine = record.indexOf(0x0a) + 1;
    const secondLine = record.indexOf(0x0a, firstLine) + 1;
    // The message: after the From_ line and the archive field, without the record's final empty line.
    return { key: header.key, length: header.length, actual: record.length, message: unquoteMboxrd(record.subarray(secondLine, record.length - 1)) };
  });
}

const silent = pino({ level: 'silent' });

describe('mboxrd', () => {
  it('quotes From lines with one more ">" and reverses exactly', () => {
    const message = Buffer.from('Subject: x\r\n\r\nFrom here\r\n>From there\r\n>>From afar\r\nnot From\r\n');
    const quoted = quoteMboxrd(message).toString();
    expect(quoted).toBe('Subject: x\n\n>From here\n>>From there\n>>>From afar\nnot From\n');
    expect(unquoteMboxrd(Buffer.from(quoted)).toString()).toBe(message.toString().replace(/\r\n/g, '\n'));
  });

  it('writes a From_ line, the archive field with the exact record length, and a final empty line', () => {
    const record = mboxrdRecord(Buffer.from('Message-ID: <a@b>\n\nhi\n'), { sender: 'anne@example.com', date: new Date('2025-03-04T10:15:02Z'), key: 'k'.repeat(0) + 'a'.repeat(64) });
    const text = record.toString();
    expect(text.startsWith('From anne@example.com Tue Mar  4 10:15:02 2025\nX-Switchyard-Archive: v=1; length=')).toBe(true);
    expect(text.endsWith('hi\n\n')).toBe(true);
    expect(readRecordHeader(record)).toEqual({ length: record.length, key: 'a'.repeat(64) });
    expect(mboxrdRecord(Buffer.from('x\n'), { sender: 'has space', date: new Date(0), key: 'b'.repeat(64) }).toString()).toMatch(/^From MAILER-DAEMON Thu Jan  1 00:00:00 1970\n/);
  });

  it('keys a post by Message-ID, else by its bytes', () => {
    expect(archiveKey(Buffer.from('Message-ID: <1@x>\n\na\n'))).toBe(archiveKey(Buffer.from('Message-ID: <1@x>\nSubject: other\n\nb\n')));
    expect(archiveKey(Buffer.from('Subject: a\n\na\n'))).not.toBe(archiveKey(Buffer.from('Subject: a\n\nb\n')));
  });
});

describe('mbox files', () => {
  it('one file per list under <home>/archives, mode 0640; an invalid list address never becomes a path', async () => {
    const home = await tempHome();
    expect(archivePath(home, 'Test@Lists.Example.org')).toBe(join(home, 'archives', 'test@lists.example.org.mbox'));
    for (const bad of ['../etc@example.org', 'a/b@example.org', 'x@../../etc', '', 'noat']) expect(() => archivePath(home, bad)).toThrow();
    const file = await MboxFile.open(home, 'test@lists.example.org', silent);
    await file.append(mboxrdRecord(Buffer.from('a\n'), { sender: '', date: new Date(0), key: 'c'.repeat(64) }), 'c'.repeat(64));
    await file.close();
    expect((await stat(archivePath(home, 'test@lists.example.org'))).mode & 0o777).toBe(0o640 & ~process.umask());
  });

  it('cuts off a torn last record when opened, and keeps the complete ones', async () => {
    const home = await tempHome();
    const path = archivePath(home, 'test@lists.example.org');
    await mkdir(join(home, 'archives'));
    const whole = mboxrdRecord(Buffer.from('Message-ID: <1@x>\n\none\n'), { sender: 'a@x.org', date: new Date(0), key: archiveKey(Buffer.from('Message-ID: <1@x>\n\n')) });
    const torn = mboxrdRecord(Buffer.from('Message-ID: <2@x>\n\ntwo, a long body\n'), { sender: 'a@x.org', date: new Date(0), key: 'd'.repeat(64) });
    for (const cut of [3, 60, torn.length - 1]) {
      await writeFile(path, Buffer.concat([whole, torn.subarray(0, cut)]));
      const file = await MboxFile.open(home, 'test@lists.example.org', silent);
      // The torn record's entry writes it again: it is not taken for a duplicate.
      expect(await file.append(torn, 'd'.repeat(64))).toBe(true);
      // The complete one is recognised.
      expect(await file.append(whole, readRecordHeader(whole)!.key)).toBe(false);
      await file.close();
      expect((await readFile(path)).equals(Buffer.concat([whole, torn]))).toBe(true);
    }
  });

  it('never cuts off the last record of a foreign mbox (no archive field), torn-looking or not', async () => {
    const home = await tempHome();
    const path = archivePath(home, 'test@lists.example.org');
    await mkdir(join(home, 'archives'));
    const foreign = Buffer.from('From someone Thu Jan  1 00:00:00 1970\nSubject: imported\n\nno final empty line\n');
    await writeFile(path, foreign);
    const file = await MboxFile.open(home, 'test@lists.example.org', silent);
    const ours = mboxrdRecord(Buffer.from('x\n'), { sender: '', date: new Date(0), key: '1'.repeat(64) });
    expect(await file.append(ours, '1'.repeat(64))).toBe(true);
    await file.close();
    expect((await readFile(path)).equals(Buffer.concat([foreign, ours]))).toBe(true);
  });

  it('notices records another writer appended and still skips their duplicates', async () => {
    const home = await tempHome();
    const file = await MboxFile.open(home, 'test@lists.example.org', silent);
    const one = mboxrdRecord(Buffer.from('one\n'), { sender: '', date: new Date(0), key: 'e'.repeat(64) });
    expect(await file.append(one, 'e'.repeat(64))).toBe(true);
    const other = mboxrdRecord(Buffer.from('other\n'), { sender: '', date: new Date(0), key: 'f'.repeat(64) });
    await appendFile(archivePath(home, 'test@lists.example.org'), other);
    expect(await file.append(other, 'f'.repeat(64))).toBe(false);
    await file.close();
  });
});

describe('archive runner', () => {
  it('appends each copy to its list\'s mbox, skips a duplicate copy, and shunts an entry with a bad listId', async () => {
    const spool = await makeSpool();
    const watch = startRunner(new ArchiveRunner(runnerOptions(spool, { name: 'archive', queue: 'archive', home: spool.dir })));
    await watch.whenReady();
    const archive = spool.switchboard('archive');
    const post = Buffer.from('From: anne@example.com\r\nMessage-ID: <p1@example.com>\r\nSubject: hi\r\n\r\nFrom the top\r\n>From quoted\r\n');
    await archive.enqueue(post, { listId: 'test@lists.example.org', envelopeSender: 'anne@example.com', receivedAt: '2025-03-04T10:15:02.000Z' });
    await archive.enqueue(post, { listId: 'test@lists.example.org', envelopeSender: 'anne@example.com', receivedAt: '2025-03-04T10:15:02.000Z' });
    await archive.enqueue(Buffer.from('Subject: other list\n\nx\n'), { listId: 'other@lists.example.org' });
    await archive.enqueue(Buffer.from('x\n'), { listId: '../../etc/passwd' });
    await watch.pulse.until(() => watch.ends.length === 4, 'four entries settled');
    expect(watch.ends.map((e) => e.outcome).sort()).toEqual(['finished', 'finished', 'finished', 'shunt']);
    const records = readMbox(await readFile(join(spool.dir, 'archives', 'test@lists.example.org.mbox')));
    expect(records).toHaveLength(1);
    expect(records[0]!.message.equals(Buffer.from(post.toString().replace(/\r\n/g, '\n')))).toBe(true);
    expect((await readFile(join(spool.dir, 'archives', 'test@lists.example.org.mbox'), 'latin1')).startsWith('From anne@example.com Tue Mar  4 10:15:02 2025\n')).toBe(true);
    expect(readMbox(await readFile(join(spool.dir, 'archives', 'other@lists.example.org.mbox')))).toHaveLength(1);
    const shunted = await spool.entries('shunt');
    expect(shunted[0]!.control.reason ?? JSON.stringify(shunted[0]!.control)).toContain('ArchiveEntryError');
  });

  it('refuses to run as more than one instance', async () => {
    const spool = await makeSpool();
    expect(() => new ArchiveRunner(runnerOptions(spool, { name: 'archive', queue: 'archive', home: spool.dir, numSlices: 2 }))).toThrow(/instances = 1/);
  });

  it('a real runner process SIGKILLed mid-stream: every post archived exactly once, no torn record', async () => {
    const home = await tempHome();
    const archive = new Switchboard({ root: join(home, 'queues'), name: 'archive' });
    const expected = new Map<string, Buffer>();
    for (let i = 0; i < 24; i++) {
      // Large posts (1 to 2 MB) widen the window in which a kill lands inside a write.
      const size = i % 4 === 0 ? 1_000_000 + i * 40_000 : 2_000 + i * 100;
      const line = `From line ${i} >From x ` + 'y'.repeat(60) + '\n';
      const body = line.repeat(Math.ceil(size / line.length));
      const message = Buffer.from(`From: p${i}@example.com\nMessage-ID: <kill-${i}@example.com>\nSubject: post ${i}\n\n${body}`);
      expected.set(archiveKey(message), message);
      await archive.enqueue(message, { listId: 'test@lists.example.org', envelopeSender: `p${i}@example.com` });
      // Every fifth post also arrives twice, as after a crash of the incoming runner.
      if (i % 5 === 0) await archive.enqueue(message, { listId: 'test@lists.example.org' });
    }
    const script = join(ROOT, 'dist/test/fixtures/archive-runner.js');
    let kills = 0;
    for (let round = 0; round < 200; round++) {
      const child = spawn(process.execPath, [script, home], { stdio: ['ignore', 'pipe', 'inherit'] });
      const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
      const events = createInterface({ input: child.stdout! });
      const target = 1 + (round % 4);
      let ends = 0;
      const outcome = await new Promise<'kill' | 'drained'>((resolve) => {
        events.on('line', (text) => {
          const event = JSON.parse(text) as { event: string };
          if (event.event === 'entry-end') ends++;
          // Kill at an entry's start half the time (inside the append), after its end otherwise.
          if ((event.event === 'entry-start' && ends + 1 >= target && round % 2 === 0) || (event.event === 'entry-end' && ends >= target)) resolve('kill');
        });
        // Drained: nothing waiting or in flight once the runner is ready or has settled an entry.
        const drained = async (): Promise<void> => {
          if ((await archive.list(['pck', 'bak'])).length === 0) resolve('drained');
        };
        events.on('line', (text) => {
          const event = (JSON.parse(text) as { event: string }).event;
          if (event === 'ready' || event === 'entry-end') void drained();
        });
      });
      child.kill('SIGKILL');
      await exited;
      if (outcome === 'drained') break;
      kills++;
    }
    expect(kills).toBeGreaterThan(5);
    const records = readMbox(await readFile(archivePath(home, 'test@lists.example.org')));
    for (const record of records) expect(record.actual).toBe(record.length);
    expect(records.map((r) => r.key).sort()).toEqual([...expected.keys()].sort());
    for (const record of records) expect(record.message.equals(expected.get(record.key)!)).toBe(true);
  });
});
