/**
 * The archive runner and the store's archive: mboxrd quoting, posts added to
 * the list's archive in the store (a duplicate copy adding nothing, list
 * addresses validated), several instances on one store, the old per-host mbox
 * files imported once at start (torn records skipped, then renamed
 * .mbox.imported), and a real runner process SIGKILLed again and again
 * mid-stream leaving every post exactly once, bytes exact.
 */
import { spawn } from 'node:child_process';
import { access, copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import ArchiveRunner from '../../runners/archive.js';
import { archiveKey, exportRecord } from '../../src/mail/mboxrd.js';
import { oldArchiveRecord } from '../support/old-archive-mbox.js';
import { openStore, type Store } from '../../src/store/index.js';
import { Switchboard } from '../../queues/index.js';
import { cleanup, makeSpool, Pulse, runnerOptions, startRunner } from '../runners/harness.js';
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

const stores: Store[] = [];
afterEach(async () => {
  for (const store of stores.splice(0)) await store.close();
});

function storeOf(home: string): Store {
  const store = openStore(home);
  stores.push(store);
  return store;
}

describe('mboxrd', () => {
  it('an export record keeps the message\'s bytes and line ends, quoting every >*From line once more', () => {
    const message = Buffer.from('Subject: x\r\n\r\nFrom me\r\n>From you\r\nnot From\r\n');
    const record = exportRecord(message, { sender: 'anne@example.com', date: new Date('2025-03-04T10:15:02Z') });
    expect(record.toString('latin1')).toBe('From anne@example.com Tue Mar  4 10:15:02 2025\nSubject: x\r\n\r\n>From me\r\n>>From you\r\nnot From\r\n\n');
    expect(exportRecord(Buffer.from('no line end'), { sender: '', date: new Date(0) }).toString('latin1')).toBe('From MAILER-DAEMON Thu Jan  1 00:00:00 1970\nno line end\n\n');
    // A sender that would break the From_ line (NUL, a control character) is not written.
    expect(exportRecord(Buffer.from('x\n'), { sender: 'a\0b@example.org', date: new Date(0) }).toString('latin1')).toMatch(/^From MAILER-DAEMON Thu/);
  });

  it('keys a post by Message-ID, else by its bytes', () => {
    expect(archiveKey(Buffer.from('Message-ID: <1@x>\n\na\n'))).toBe(archiveKey(Buffer.from('Message-ID: <1@x>\nSubject: other\n\nb\n')));
    expect(archiveKey(Buffer.from('Subject: a\n\na\n'))).not.toBe(archiveKey(Buffer.from('Subject: a\n\nb\n')));
  });
});

describe('archive runner', () => {
  it('adds each copy to its list\'s archive in the store, bytes exact; a duplicate copy adds nothing; an entry with a bad listId is shunted', async () => {
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
    const store = storeOf(spool.dir);
    const archived = await store.archivedMessages('test@lists.example.org');
    expect(archived).toHaveLength(1);
    expect(archived[0]!.raw.equals(post)).toBe(true);
    expect(archived[0]).toMatchObject({ key: archiveKey(post), archivedAt: new Date('2025-03-04T10:15:02Z'), sender: 'anne@example.com', messageId: '<p1@example.com>', subject: 'hi' });
    expect(await store.countArchivedMessages('other@lists.example.org')).toBe(1);
    const shunted = await spool.entries('shunt');
    expect(shunted[0]!.control.reason ?? JSON.stringify(shunted[0]!.control)).toContain('ArchiveEntryError');
  });

  it('runs as several instances on one store (as on several hosts): each post archived once', async () => {
    const spool = await makeSpool();
    const pulse = new Pulse();
    const watches = [0, 1].map((slice) => startRunner(new ArchiveRunner(runnerOptions(spool, { name: 'archive', queue: 'archive', home: spool.dir, slice, numSlices: 2, concurrency: 3 })), pulse));
    await Promise.all(watches.map((w) => w.whenReady()));
    const archive = spool.switchboard('archive');
    for (let i = 0; i < 30; i++) {
      const message = Buffer.from(`Message-ID: <multi-${i % 20}@example.com>\nSubject: ${i}\n\nbody\n`);
      await archive.enqueue(message, { listId: 'test@lists.example.org' });
    }
    await pulse.until(() => watches.reduce((n, x) => n + x.ends.length, 0) === 30, 'thirty entries settled');
    expect(watches.flatMap((w) => w.ends.map((e) => e.outcome)).every((o) => o === 'finished')).toBe(true);
    expect(watches.every((w) => w.ends.length > 0)).toBe(true);
    expect(await storeOf(spool.dir).countArchivedMessages('test@lists.example.org')).toBe(20);
  });

  it('imports the old mbox file of each list into the store once at start, skipping a torn last record, and renames it .mbox.imported', async () => {
    const home = await tempHome();
    await mkdir(join(home, 'archives'));
    const old = (id: string, at: string, body = 'text\nFrom inside\n'): { message: Buffer; record: Buffer } => {
      const message = Buffer.from(`From: a@example.org\nMessage-ID: <${id}@example.org>\nSubject: ${id}\n\n${body}`);
      return { message, record: oldArchiveRecord(message, { sender: 'a@example.org', date: new Date(at), key: archiveKey(message) }) };
    };
    const one = old('one', '2024-05-01T08:00:00Z');
    const two = old('two', '2024-05-02T09:30:00Z', 'From the start\n>From quoted\n\n');
    const torn = old('torn', '2024-05-03T00:00:00Z');
    const file = join(home, 'archives', 'dev@lists.example.org.mbox');
    await writeFile(file, Buffer.concat([one.record, two.record, torn.record.subarray(0, torn.record.length - 20)]));
    await writeFile(join(home, 'archives', 'not-a-list.mbox'), 'From x Thu Jan  1 00:00:00 1970\n\nx\n');
    const spool = await makeSpool();
    const runner = new ArchiveRunner(runnerOptions(spool, { name: 'archive', queue: 'archive', home }));
    const imported = new Promise<string[]>((resolve) => runner.once('old-mbox-imported', resolve));
    const first = startRunner(runner);
    expect(await imported).toEqual([file]);
    await access(`${file}.imported`);
    await expect(access(file)).rejects.toMatchObject({ code: 'ENOENT' });
    await access(join(home, 'archives', 'not-a-list.mbox'));
    const store = storeOf(home);
    const rows = await store.archivedMessages('dev@lists.example.org');
    expect(rows.map((r) => [r.key, r.archivedAt.toISOString(), r.sender])).toEqual([
      [archiveKey(one.message), '2024-05-01T08:00:00.000Z', 'a@example.org'],
      [archiveKey(two.message), '2024-05-02T09:30:00.000Z', 'a@example.org'],
    ]);
    expect(rows.map((r) => r.raw.toString())).toEqual([one.message.toString(), two.message.toString()]);
    // Killed after the import, before the rename: the file is imported again at the next start, adding nothing.
    await runner.stop();
    await first.done;
    await copyFile(`${file}.imported`, file);
    const again = new ArchiveRunner(runnerOptions(spool, { name: 'archive', queue: 'archive', home }));
    const reimported = new Promise<string[]>((resolve) => again.once('old-mbox-imported', resolve));
    startRunner(again);
    expect(await reimported).toEqual([file]);
    expect(await store.countArchivedMessages('dev@lists.example.org')).toBe(2);
  });

  it('a real runner process SIGKILLed mid-stream: every post archived exactly once, bytes exact', async () => {
    const home = await tempHome();
    const archive = new Switchboard({ root: join(home, 'queues'), name: 'archive' });
    const expected = new Map<string, Buffer>();
    for (let i = 0; i < 24; i++) {
      // Large posts (1 to 2 MB) widen the window in which a kill lands inside the insert.
      const size = i % 4 === 0 ? 1_000_000 + i * 40_000 : 2_000 + i * 100;
      const line = `From line ${i} >From x ` + 'y'.repeat(60) + '\r\n';
      const body = line.repeat(Math.ceil(size / line.length));
      const message = Buffer.from(`From: p${i}@example.com\r\nMessage-ID: <kill-${i}@example.com>\r\nSubject: post ${i}\r\n\r\n${body}`);
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
          // Kill at an entry's start half the time (inside the insert), after its end otherwise.
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
    expect(await archive.list(['pck', 'bak'])).toEqual([]);
    const store = storeOf(home);
    const rows = await store.archivedMessages('test@lists.example.org');
    expect(rows.map((r) => r.key).sort()).toEqual([...expected.keys()].sort());
    for (const row of rows) expect(row.raw.equals(expected.get(row.key)!)).toBe(true);
  });
});
