/**
 * `switchyard inject` as the MTA runs it: a real child process per message,
 * every exit code, the bytes kept, and the pipe's environment (the
 * unprivileged switchyard user, PATH=/usr/bin:/bin, no HOME, umask 077).
 */
import { spawn } from 'node:child_process';
import { chmod, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bodyOf, chownTree, MAIN, makeHome, queueIds, switchyardUser, waitForQueue, type SystemUser } from './harness.js';

interface Result {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Run inject as the pipe does: `sh -c 'umask 077; exec node main.js inject ...'` with Postfix's environment. */
function inject(args: string[], input: Buffer | string, user?: SystemUser, env: Record<string, string> = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', 'umask 077; exec "$0" "$@"', process.execPath, MAIN, 'inject', ...args], {
      env: { PATH: '/usr/bin:/bin', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
      ...(user === undefined ? {} : { uid: user.uid, gid: user.gid }),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}

const LIST = 'dev@lists.example.org';
let home: string;

beforeAll(async () => {
  home = await makeHome('[ingress]\nmaxMessageSize = 2048\n\n[store]\nbusyTimeout = "200ms"\n', [LIST]);
});

afterAll(async () => {
  await rm(home, { recursive: true, force: true });
});

describe('switchyard inject', () => {
  it('exit 0: queues a post with the ingress metadata, dropping the "From " line and keeping LF bytes exactly', async () => {
    const message = 'Return-Path: <anne@example.net>\nReceived: from x by y\nSubject: LF\n\nline one\n\n.dot\nlast  \n';
    const result = await inject(['--home', home, '--recipient', LIST], `From anne@example.net  Fri Nov 27 02:00:00 2026\n${message}`);
    expect(result).toMatchObject({ code: 0 });
    const id = /^queued in\/(\S+)$/m.exec(result.stdout)![1]!;
    const entry = (await waitForQueue(home, 'in', 1)).find((e) => e.id === id)!;
    expect(entry.message.equals(Buffer.from(message))).toBe(true);
    expect(entry.metadata).toMatchObject({ listId: LIST, envelopeSender: 'anne@example.net', envelopeRecipient: LIST, receivedVia: 'inject' });
    expect(Date.parse(entry.metadata.receivedAt as string)).toBeGreaterThan(Date.now() - 60_000);
  });

  it('keeps CRLF input byte for byte, 8-bit and all; --sender wins over the From line; MAILER-DAEMON is the null sender', async () => {
    const message = Buffer.from('Subject: CRLF\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nGrüße\r\n\r\n', 'utf8');
    const result = await inject(['--home', home, '--recipient', 'dev-bounces+bob=example.com@lists.example.org', '--sender='], Buffer.concat([Buffer.from('From MAILER-DAEMON  Fri Nov 27 02:00:00 2026\n'), message]));
    expect(result.code).toBe(0);
    const [entry] = await waitForQueue(home, 'bounces', 1);
    expect(entry!.message.equals(message)).toBe(true);
    expect(bodyOf(entry!.message).toString('utf8')).toBe('Grüße\r\n\r\n');
    expect(entry!.metadata).toMatchObject({ envelopeSender: '', envelopeRecipient: 'dev-bounces+bob=example.com@lists.example.org' });
  });

  it('routes commands with their metadata, and --list/--queue for an operator', async () => {
    expect((await inject(['--home', home, '--recipient', 'dev-confirm+tok3n@lists.example.org'], 'Subject: c\n\nx\n')).code).toBe(0);
    const [command] = await waitForQueue(home, 'command', 1);
    expect(command!.metadata).toMatchObject({ command: 'confirm', token: 'tok3n' });
    const result = await inject(['--home', home, '--list', 'DEV@lists.example.org', '--queue', 'virgin', '--sender', 'op@example.org'], 'Subject: again\n\nx\n');
    expect(result.code).toBe(0);
    const [virgin] = await waitForQueue(home, 'virgin', 1);
    expect(virgin!.metadata).toMatchObject({ listId: LIST, envelopeRecipient: LIST, envelopeSender: 'op@example.org' });
  });

  it('--from-env takes recipient and sender from $RECIPIENT and $SENDER, as Exim\'s pipe transport sets them', async () => {
    const exim = { RECIPIENT: 'dev-bounces+carl=example.org@lists.example.org', SENDER: 'mailer@example.net', LOCAL_PART: 'dev-bounces', DOMAIN: 'lists.example.org' };
    const before = (await queueIds(home, 'bounces')).length;
    const result = await inject(['--home', home, '--from-env'], 'Subject: env\n\nx\n', undefined, exim);
    expect(result.code).toBe(0);
    const id = /^queued bounces\/(\S+)$/m.exec(result.stdout)![1]!;
    const entry = (await waitForQueue(home, 'bounces', before + 1)).find((e) => e.id === id)!;
    expect(entry.metadata).toMatchObject({ listId: LIST, envelopeRecipient: exim.RECIPIENT, envelopeSender: 'mailer@example.net', receivedVia: 'inject' });
    // Without $RECIPIENT, or mixed with --recipient: the MTA's configuration is wrong, so 75 keeps the mail.
    const missing = await inject(['--home', home, '--from-env'], 'Subject: env\n\nx\n');
    expect(missing.code).toBe(75);
    expect(missing.stderr).toMatch(/\$RECIPIENT is not set/);
    expect((await inject(['--home', home, '--from-env', '--recipient', LIST], 'Subject: env\n\nx\n', undefined, exim)).code).toBe(75);
  });

  it.each([
    ['67 for an unknown list', ['--recipient', 'nope@lists.example.org'], 'Subject: x\n\nx\n', 67, /unknown address/],
    ['67 for an unknown suffix', ['--recipient', 'dev-admin@lists.example.org'], 'Subject: x\n\nx\n', 67, /unknown address/],
    ['67 for --list of no list', ['--list', 'nope@lists.example.org'], 'Subject: x\n\nx\n', 67, /unknown address/],
    ['65 for empty input', ['--recipient', LIST], '', 65, /empty/],
    ['65 for only a From line', ['--recipient', LIST], 'From a@b.example  Fri Nov 27 02:00:00 2026\n', 65, /empty/],
    ['69 for an oversize message (onOversize reject)', ['--recipient', LIST], `Subject: big\n\n${'x'.repeat(5000)}\n`, 69, /larger than/],
    ['75 for a bad command line', ['--recipient', LIST, '--bogus'], 'Subject: x\n\nx\n', 75, /bogus/],
    ['75 for no recipient at all', [], 'Subject: x\n\nx\n', 75, /exactly one/],
  ])('exit %s', async (_what, args, input, code, stderr) => {
    const before = await queueIds(home, 'in');
    const result = await inject(['--home', home, ...args], input);
    expect(result.code).toBe(code);
    expect(result.stderr).toMatch(stderr);
    expect(await queueIds(home, 'in')).toEqual(before);
  });

  it('exit 75 for a missing home directory, and for an oversize message with onOversize = "defer"', async () => {
    expect((await inject(['--home', join(home, 'missing'), '--recipient', LIST], 'Subject: x\n\nx\n')).code).toBe(75);
    const deferHome = await makeHome('[ingress]\nmaxMessageSize = 1024\nonOversize = "defer"\n', [LIST]);
    try {
      const result = await inject(['--home', deferHome, '--recipient', LIST], `Subject: big\n\n${'x'.repeat(5000)}\n`);
      expect(result.code).toBe(75);
    } finally {
      await rm(deferHome, { recursive: true, force: true });
    }
  });

  it('exit 75 while another process holds the list store locked (busy store), 0 once it lets go', async () => {
    const holder = new Database(join(home, 'switchyard.db'));
    holder.pragma('locking_mode = EXCLUSIVE');
    holder.exec('BEGIN EXCLUSIVE');
    try {
      const result = await inject(['--home', home, '--recipient', LIST], 'Subject: busy\n\nx\n');
      expect(result.code).toBe(75);
      expect(result.stderr).toMatch(/busy|locked/);
    } finally {
      holder.exec('COMMIT');
      holder.close();
    }
    expect((await inject(['--home', home, '--recipient', LIST], 'Subject: busy\n\nx\n')).code).toBe(0);
  });

  const user = process.getuid?.() === 0 ? switchyardUser() : undefined;
  it.skipIf(user === undefined)('as the unprivileged switchyard user with umask 077: queue files 0660; an unwritable spool is exit 75 and nothing is half-written', async () => {
    const userHome = await makeHome('', [LIST]);
    try {
      await waitForQueue(userHome, 'in', 0);
      await chmod(userHome, 0o770);
      await chownTree(userHome, user!);
      const ok = await inject(['--home', userHome, '--recipient', LIST], 'Subject: user\n\nx\n', user);
      expect(ok.code).toBe(0);
      const [entry] = await waitForQueue(userHome, 'in', 1);
      const shard = join(userHome, 'queues', 'in', entry!.id.split('+')[1]!.slice(0, 2));
      expect((await stat(join(shard, `${entry!.id}.pck`))).mode & 0o777).toBe(0o660);

      await chmod(shard, 0o550);
      for (const dir of await readdir(join(userHome, 'queues', 'in'))) await chmod(join(userHome, 'queues', 'in', dir), 0o550);
      await chmod(join(userHome, 'queues', 'in'), 0o550);
      const failed = await inject(['--home', userHome, '--recipient', LIST], 'Subject: user\n\nx\n', user);
      expect(failed.code).toBe(75);
      expect(failed.stderr).toMatch(/EACCES/);
      expect((await readdir(shard)).filter((name) => name.endsWith('.tmp'))).toEqual([]);
      expect(await queueIds(userHome, 'in')).toHaveLength(1);
    } finally {
      await rm(userHome, { recursive: true, force: true });
    }
  });

  it.skipIf(user === undefined)('run as root on a home that belongs to the switchyard user: exit 75 naming the user to run it as, nothing queued; as that user it queues', async () => {
    const userHome = await makeHome('', [LIST]);
    try {
      await waitForQueue(userHome, 'in', 0);
      await chmod(userHome, 0o770);
      await chownTree(userHome, user!);
      const refused = await inject(['--home', userHome, '--recipient', LIST], 'Subject: as root\n\nx\n');
      expect(refused.code).toBe(75);
      expect(refused.stderr).toContain(`refusing to run as root: the home ${userHome} belongs to switchyard (uid ${user!.uid})`);
      expect(refused.stderr).toContain('Run inject as switchyard');
      expect(await queueIds(userHome, 'in')).toEqual([]);
      // No root-owned shard directory was made either: a runner could not list it.
      for (const dir of await readdir(join(userHome, 'queues', 'in')).catch(() => [] as string[])) {
        expect((await stat(join(userHome, 'queues', 'in', dir))).uid).toBe(user!.uid);
      }
      const ok = await inject(['--home', userHome, '--recipient', LIST], 'Subject: as switchyard\n\nx\n', user);
      expect(ok.code).toBe(0);
      expect(await queueIds(userHome, 'in')).toHaveLength(1);
    } finally {
      await rm(userHome, { recursive: true, force: true });
    }
  });
});
