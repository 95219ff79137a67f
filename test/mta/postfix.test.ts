/**
 * switchyard behind a real Postfix (Debian's, installed by .ci/run): a
 * private instance on a loopback port, configured with the maps
 * `switchyard aliases` wrote (through `lists create`) and the pipe service
 * of deploy/postfix/master.cf. Two switchyard homes: one reached over LMTP
 * (its LMTP runner running as the switchyard user), one through the pipe
 * transport (`switchyard inject` run by Postfix as the switchyard user,
 * with Postfix's own environment). Messages go in over SMTP and must come
 * out as queue entries with the body byte-exact and the envelope routed;
 * when switchyard fails temporarily (its spool made unwritable) Postfix must
 * keep the message deferred and deliver it once the fault is gone and the
 * queue flushed.
 *
 * Skipped (loudly) only when Postfix is not installed or the tests do not
 * run as root; CI installs it.
 */
import { chmod, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nodemailer, { type Transporter } from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bodyOf,
  chownTree,
  freePort,
  ingressToml,
  MAIN,
  makeHome,
  ROOT,
  startLmtpRunner,
  switchyardUser,
  waitForQueue,
  type RunnerChild,
  type SystemUser,
} from '../ingress/harness.js';
import { PostfixInstance, postfixAvailable } from './postfix-instance.js';

const AVAILABLE = postfixAvailable();
const USER = AVAILABLE ? switchyardUser() : undefined;
if (!AVAILABLE || USER === undefined) {
  const why = !AVAILABLE ? 'Postfix (postfix, postqueue, postmap) is not installed or the tests do not run as root' : 'there is no `switchyard` system user (.ci/run creates it)';
  process.stderr.write(`\n${'!'.repeat(78)}\n!!! SKIPPING the real-Postfix tests (test/mta/postfix.test.ts): ${why}.\n!!! CI must run them: .ci/run installs postfix and creates the user.\n${'!'.repeat(78)}\n\n`);
}

const LMTP_LIST = 'dev@lmtp.example.org';
const PIPE_LIST = 'dev@pipe.example.org';
/** A list of a site served by two hosts: `[hosts] lmtp` names a host that is down first, then the LMTP runner. */
const FAILOVER_LIST = 'dev@failover.example.org';

/** A message with CRLF line ends, UTF-8 8-bit body, a line starting with a dot and trailing white space. */
function message(subject: string): { raw: Buffer; body: Buffer } {
  const body = Buffer.from(`Grüße aus Köln — ${subject}\r\n.a line starting with a dot\r\ntrailing spaces   \r\n\r\nlast line\r\n`, 'utf8');
  const head = Buffer.from(
    `From: Anne <anne@example.net>\r\nTo: ${LMTP_LIST}\r\nSubject: ${subject}\r\nMessage-ID: <${subject.replace(/\W/g, '')}@example.net>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n`,
    'utf8',
  );
  return { raw: Buffer.concat([head, body]), body };
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number, logTail: () => Promise<string>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; Postfix log:\n${await logTail()}`);
    // Postfix gives no event to await for "deferred": poll its queue listing.
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe.skipIf(!AVAILABLE || USER === undefined)('switchyard behind a real Postfix', () => {
  let dir: string;
  let postfix: PostfixInstance;
  let lmtpHome: string;
  let pipeHome: string;
  let failoverHome: string;
  let lmtp: RunnerChild | undefined;
  let transport: Transporter;
  const user = USER as SystemUser;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sy-postfix-'));
    const [smtpPort, lmtpPort] = [await freePort(), await freePort()];
    postfix = new PostfixInstance(dir, smtpPort);
    await chmod(dir, 0o755);
    // The LMTP runner's home knows the failover list too: as a second host sharing the site's store would.
    lmtpHome = await makeHome(ingressToml(lmtpPort), [LMTP_LIST, FAILOVER_LIST], dir);
    pipeHome = await makeHome(ingressToml(lmtpPort), [PIPE_LIST], dir);
    // Its maps list a host where nothing listens (connection refused) before the live one.
    failoverHome = await makeHome(ingressToml(lmtpPort, `[hosts]\nlmtp = ["127.0.0.1:${await freePort()}", "127.0.0.1:${lmtpPort}"]\n`), [FAILOVER_LIST], dir);
    // One system user owns the homes and runs both the runners and the pipe (deploy/postfix/README.md).
    for (const home of [lmtpHome, pipeHome]) {
      // Watching creates the queue and shard directories: let that happen now, before they are handed over.
      for (const queue of ['in', 'bounces', 'command']) await waitForQueue(home, queue, 0);
      await chmod(home, 0o770);
      await chownTree(home, user);
    }
    const masterCf = (await readFile(join(ROOT, 'deploy/postfix/master.cf'), 'utf8'))
      .replaceAll('/usr/bin/node', process.execPath)
      .replaceAll('/usr/lib/node_modules/switchyard/dist/src/cli/main.js', MAIN)
      .replaceAll('/var/lib/switchyard', pipeHome);
    const mainCf = [
      'recipient_delimiter = +',
      `relay_domains = hash:${failoverHome}/postfix_domains, hash:${lmtpHome}/postfix_domains, hash:${pipeHome}/postfix_domains`,
      `relay_recipient_maps = hash:${lmtpHome}/postfix_lmtp, hash:${pipeHome}/postfix_lmtp`,
      // The failover home's map first: its list's transport is the one with two destinations.
      `transport_maps = hash:${failoverHome}/postfix_lmtp, hash:${lmtpHome}/postfix_lmtp, hash:${pipeHome}/postfix_pipe`,
      'switchyard_destination_recipient_limit = 1',
    ].join('\n');
    await postfix.configure(mainCf, masterCf);
    lmtp = await startLmtpRunner(lmtpHome, user);
    await postfix.start();
    transport = nodemailer.createTransport({ host: '127.0.0.1', port: smtpPort, secure: false, ignoreTLS: true, logger: false });
  });

  afterAll(async () => {
    if (process.env.SY_DEBUG) process.stderr.write(`Postfix log:\n${await postfix?.logTail(80)}\nLMTP runner:\n${lmtp?.lines.map((l) => JSON.stringify(l)).join('\n')}\n${lmtp?.stderr.join('\n')}\n`);
    transport?.close();
    await postfix?.stop();
    await lmtp?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('delivers over LMTP: a post and a VERP bounce in one transaction, routed per recipient, body byte-exact, SMTPUTF8 sender', async () => {
    const { raw, body } = message('lmtp one');
    const info = await transport.sendMail({ envelope: { from: 'jörg@example.net', to: [LMTP_LIST, 'dev-bounces+anne=example.net@lmtp.example.org'] }, raw });
    expect(info.accepted).toHaveLength(2);
    const [post] = await waitForQueue(lmtpHome, 'in', 1);
    const [bounce] = await waitForQueue(lmtpHome, 'bounces', 1);
    expect(post!.metadata).toMatchObject({ listId: LMTP_LIST, envelopeRecipient: LMTP_LIST, envelopeSender: 'jörg@example.net', receivedVia: 'lmtp' });
    expect(bounce!.metadata).toMatchObject({ listId: LMTP_LIST, envelopeRecipient: 'dev-bounces+anne=example.net@lmtp.example.org', receivedVia: 'lmtp' });
    expect(bodyOf(post!.message).equals(body)).toBe(true);
    expect(bodyOf(bounce!.message).equals(body)).toBe(true);
    // Postfix added its Received: line above the original header block, which is unchanged.
    expect(post!.message.includes(raw.subarray(0, raw.indexOf('\r\n\r\n')))).toBe(true);
  });

  it('delivers through the pipe transport (inject as the switchyard user): a null-sender post and a -request command', async () => {
    const { raw, body } = message('pipe one');
    const info = await transport.sendMail({ envelope: { from: '', to: [PIPE_LIST, 'dev-request@pipe.example.org'] }, raw });
    expect(info.accepted).toHaveLength(2);
    const [post] = await waitForQueue(pipeHome, 'in', 1);
    const [command] = await waitForQueue(pipeHome, 'command', 1);
    expect(post!.metadata).toMatchObject({ listId: PIPE_LIST, envelopeRecipient: PIPE_LIST, envelopeSender: '', receivedVia: 'inject' });
    expect(command!.metadata).toMatchObject({ listId: PIPE_LIST, envelopeRecipient: 'dev-request@pipe.example.org', command: 'request', receivedVia: 'inject' });
    // pipe(8) hands over LF line ends; inject keeps them and drops only the "From " line of flag F.
    const lf = Buffer.from(body.toString('utf8').replaceAll('\r\n', '\n'), 'utf8');
    expect(bodyOf(post!.message).equals(lf)).toBe(true);
    expect(post!.message.subarray(0, 5).toString()).not.toBe('From ');
    expect(post!.message.toString('utf8')).toMatch(/^Return-Path: <>\n/m);
    // Readable by the runners: written by the switchyard user with the configured umask (0660).
    const shard = join(pipeHome, 'queues', 'in', post!.id.split('+')[1]!.slice(0, 2));
    const name = (await readdir(shard)).find((n) => n.startsWith(post!.id))!;
    const { stat } = await import('node:fs/promises');
    const mode = (await stat(join(shard, name))).mode & 0o777;
    expect(mode).toBe(0o660);
  });

  it('[hosts] lmtp: Postfix tries the next switchyard host when the first is down, and delivers there', async () => {
    const transportLine = (await readFile(join(failoverHome, 'postfix_lmtp'), 'utf8')).split('\n').find((line) => line.startsWith(`${FAILOVER_LIST} `));
    expect(transportLine).toMatch(/ lmtp:\[127\.0\.0\.1\]:\d+,\[127\.0\.0\.1\]:\d+$/);
    const before = (await waitForQueue(lmtpHome, 'in', 0)).length;
    const { raw } = message('failover one');
    const info = await transport.sendMail({ envelope: { from: 'anne@example.net', to: [FAILOVER_LIST] }, raw });
    expect(info.accepted).toEqual([FAILOVER_LIST]);
    const entries = await waitForQueue(lmtpHome, 'in', before + 1);
    const post = entries.find((entry) => entry.metadata.listId === FAILOVER_LIST);
    expect(post?.message.includes(Buffer.from('Subject: failover one'))).toBe(true);
    // The first destination refused: Postfix logged it and went on, in the same delivery attempt.
    expect(await postfix.logTail(200)).toMatch(/connect to 127\.0\.0\.1\[127\.0\.0\.1\]:\d+: Connection refused/);
  });

  it('refuses an unknown list address during SMTP (550 at RCPT TO)', async () => {
    const { raw } = message('unknown');
    await expect(transport.sendMail({ envelope: { from: 'anne@example.net', to: ['nope@lmtp.example.org'] }, raw })).rejects.toMatchObject({ responseCode: 550 });
  });

  for (const via of ['lmtp', 'pipe'] as const) {
    it(`keeps the message deferred while switchyard fails temporarily (${via === 'lmtp' ? 'LMTP 451' : 'inject exit 75'}), and delivers it after the fault is removed and the queue flushed`, async () => {
      const home = via === 'lmtp' ? lmtpHome : pipeHome;
      const list = via === 'lmtp' ? LMTP_LIST : PIPE_LIST;
      const before = (await waitForQueue(home, 'in', 0)).length;
      const queues = join(home, 'queues');
      // The fault: the spool is unwritable for the switchyard user (tests run as root, switchyard does not).
      await chmodTree(queues, false);
      try {
        const { raw } = message(`deferred ${via}`);
        await transport.sendMail({ envelope: { from: 'anne@example.net', to: [list] }, raw });
        const deferred = await until(
          'Postfix to defer the message',
          async () => (await postfix.queue()).find((m) => m.queue_name === 'deferred' && m.recipients.some((r) => r.address === list)),
          30_000,
          () => postfix.logTail(),
        );
        const reason = deferred.recipients[0]!.delay_reason ?? '';
        expect(reason).toMatch(via === 'lmtp' ? /\b451\b/ : /temporary failure/);
        expect((await waitForQueue(home, 'in', 0)).length).toBe(before);
      } finally {
        await chmodTree(queues, true);
      }
      await postfix.flush();
      const after = await waitForQueue(home, 'in', before + 1);
      expect(after.some((entry) => entry.message.includes(Buffer.from(`Subject: deferred ${via}`)))).toBe(true);
      await until('the Postfix queue to empty', async () => ((await postfix.queue()).length === 0 ? true : undefined), 30_000, () => postfix.logTail());
    });
  }
});

async function chmodTree(dir: string, writable: boolean): Promise<void> {
  const paths = [dir, ...(await readdir(dir, { withFileTypes: true, recursive: true })).filter((e) => e.isDirectory()).map((e) => join(e.parentPath, e.name))];
  for (const path of paths) await chmod(path, writable ? 0o770 : 0o550);
}
