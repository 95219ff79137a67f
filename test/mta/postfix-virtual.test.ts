/**
 * The `virtual_alias_maps` variant of pipe delivery (deploy/postfix/main.cf,
 * the commented lines at the end), against a real private Postfix: the list
 * domain is a virtual alias domain, `postfix_vmap` (written by `lists
 * create`) maps each list address to itself so Postfix knows it, and
 * `postfix_pipe` sends it to the `switchyard` pipe service of
 * deploy/postfix/master.cf. A post and a VERP bounce must arrive through
 * `switchyard inject`; an address that is no list's is refused at RCPT TO.
 *
 * Skipped (loudly, by postfix.test.ts's banner) only when Postfix or the
 * switchyard user is missing; CI has both.
 */
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nodemailer, { type Transporter } from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bodyOf, chownTree, freePort, ingressToml, MAIN, makeHome, ROOT, switchyardUser, waitForQueue, type SystemUser } from '../ingress/harness.js';
import { PostfixInstance, postfixAvailable } from './postfix-instance.js';

const AVAILABLE = postfixAvailable();
const USER = AVAILABLE ? switchyardUser() : undefined;
const LIST = 'dev@virtual.example.org';

/** The commented virtual-alias-domain lines of deploy/postfix/main.cf, uncommented, with the home filled in. */
async function virtualVariant(home: string): Promise<string> {
  const text = await readFile(join(ROOT, 'deploy/postfix/main.cf'), 'utf8');
  const section = text.slice(text.indexOf('# If the list domains are virtual alias domains'));
  const lines = section
    .split('\n')
    .filter((line) => /^#[a-z_]+ = /.test(line))
    .map((line) => line.slice(1).replaceAll('/var/lib/switchyard', home));
  expect(lines.map((line) => line.split(' = ')[0])).toEqual(['virtual_alias_domains', 'virtual_alias_maps', 'transport_maps', 'switchyard_destination_recipient_limit']);
  return ['recipient_delimiter = +', ...lines].join('\n');
}

describe.skipIf(!AVAILABLE || USER === undefined)('pipe delivery to a virtual alias domain, behind a real Postfix', () => {
  let dir: string;
  let postfix: PostfixInstance;
  let home: string;
  let transport: Transporter;
  const user = USER as SystemUser;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sy-postfix-virtual-'));
    const smtpPort = await freePort();
    postfix = new PostfixInstance(dir, smtpPort);
    await chmod(dir, 0o755);
    home = await makeHome(ingressToml(await freePort()), [LIST], dir);
    for (const queue of ['in', 'bounces']) await waitForQueue(home, queue, 0);
    await chmod(home, 0o770);
    await chownTree(home, user);
    const masterCf = (await readFile(join(ROOT, 'deploy/postfix/master.cf'), 'utf8'))
      .replaceAll('/usr/bin/node', process.execPath)
      .replaceAll('/usr/lib/node_modules/switchyard/dist/src/cli/main.js', MAIN)
      .replaceAll('/var/lib/switchyard', home);
    await postfix.configure(await virtualVariant(home), masterCf);
    await postfix.start();
    transport = nodemailer.createTransport({ host: '127.0.0.1', port: smtpPort, secure: false, ignoreTLS: true, logger: false });
  });

  afterAll(async () => {
    if (process.env.SY_DEBUG) process.stderr.write(`Postfix log:\n${await postfix?.logTail(80)}\n`);
    transport?.close();
    await postfix?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('delivers a post and a VERP bounce through inject, routed per recipient, and refuses an unknown address', async () => {
    const body = Buffer.from('Grüße through a virtual alias domain\r\n', 'utf8');
    const raw = Buffer.concat([Buffer.from(`From: anne@example.net\r\nTo: ${LIST}\r\nSubject: virtual\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n`), body]);
    const info = await transport.sendMail({ envelope: { from: 'anne@example.net', to: [LIST, 'dev-bounces+bob=example.org@virtual.example.org'] }, raw });
    expect(info.accepted).toHaveLength(2);
    const [post] = await waitForQueue(home, 'in', 1);
    const [bounce] = await waitForQueue(home, 'bounces', 1);
    expect(post!.metadata).toMatchObject({ listId: LIST, envelopeRecipient: LIST, envelopeSender: 'anne@example.net', receivedVia: 'inject' });
    expect(bounce!.metadata).toMatchObject({ listId: LIST, envelopeRecipient: 'dev-bounces+bob=example.org@virtual.example.org', receivedVia: 'inject' });
    expect(bodyOf(post!.message).equals(Buffer.from(body.toString('utf8').replaceAll('\r\n', '\n'), 'utf8'))).toBe(true);
    await expect(transport.sendMail({ envelope: { from: 'anne@example.net', to: ['nope@virtual.example.org'] }, raw })).rejects.toMatchObject({ responseCode: 550 });
  });
});
