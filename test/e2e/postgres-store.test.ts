/**
 * A real master on the PostgreSQL store (`[store] url`, a private cluster on
 * loopback): a post over LMTP reaches every member at the smarthost (a real
 * SMTP sink); then PostgreSQL is stopped (pg_ctl stop -m fast: connections
 * cut with 57P01, new ones refused) while posts wait in the spool: the
 * runners send them to `retry`, LMTP answers 4xx to a new one (the MTA keeps
 * it), and once PostgreSQL is back every member gets every post exactly once,
 * with nothing in shunt or bad. Two hosts on the one store (two homes, two
 * masters, two LMTP ports): a post held through host B is approved with host
 * A's CLI and delivered by host A, once.
 */
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Switchboard } from '../../queues/index.js';
import { IngressWriter } from '../../src/ingress/ingress-writer.js';
import { routeRecipient } from '../../src/ingress/routing.js';
import { RawMessage } from '../../src/mail/raw-message.js';
import { migratePostgres } from '../../src/store/postgres-migrate.js';
import { openStore, type Store } from '../../src/store/index.js';
import { SmtpSink, type SinkTransaction } from '../fixtures/smtp-sink.js';
import { freePort } from '../support/net.js';
import { startPostgres, type PostgresCluster } from '../support/postgres.js';
import { builtInRunnersOff, makeHome, removeHome, runCli, schedulerOff, startMaster, testConfig, waitForEntries, type MasterHandle } from '../master/harness.js';

const LIST = 'team@lists.example.org';
const MEMBERS = ['ann@example.org', 'bob@example.net', 'cy@example.com'];
const TIMEOUT = 300_000;

let cluster: PostgresCluster;
let sink: SmtpSink;
let home: string;
let master: MasterHandle;
let store: Store;
let lmtpPort: number;
let url: string;

function post(messageId: string): Buffer {
  return Buffer.from(`From: Ann <ann@example.org>\r\nTo: ${LIST}\r\nSubject: post ${messageId}\r\nMessage-ID: ${messageId}\r\nDate: Fri, 27 Nov 2026 10:00:00 +0000\r\n\r\nHello.\r\n`);
}

function lmtp(raw: Buffer, port = lmtpPort, from = 'ann@example.org'): Promise<unknown> {
  const transport = nodemailer.createTransport({ lmtp: true, host: '127.0.0.1', port });
  return transport.sendMail({ envelope: { from, to: [LIST] }, raw }).finally(() => transport.close());
}

function withMessageId(id: string): (t: SinkTransaction) => boolean {
  return (t) => t.body !== undefined && RawMessage.parse(t.body).get('message-id') === id;
}

async function queueFiles(queue: string): Promise<string[]> {
  return new Switchboard({ root: join(home, 'queues'), name: queue }).files();
}

beforeAll(async () => {
  cluster = await startPostgres();
  url = await cluster.database();
  await migratePostgres(url);
  sink = await SmtpSink.start({ keepBodies: true });
  lmtpPort = await freePort();
  // A quick retry, so the test does not wait minutes for the entries the outage sent to retry: once
  // PostgreSQL is back, they go round again within maxDelay (half a second idle at most, not 2 s).
  // Bounces, command and the scheduler off: no bounce, email command or scheduled job takes part, and each is a node process to start.
  home = await makeHome(
    testConfig(`[smtp]\nport = ${sink.port}\n\n[lmtp]\nport = ${lmtpPort}\n\n[store]\nurl = "${url}"\n\n[retry]\ninitialDelay = "200ms"\nmaxDelay = "500ms"\n\n${builtInRunnersOff(['incoming', 'archive', 'outgoing', 'virgin', 'retry'])}\n${schedulerOff()}`),
  );
  store = openStore(home, { url });
  await store.createList({ address: LIST });
  await store.addMembers(LIST, MEMBERS.map((address) => ({ address })));
  master = await startMaster(home);
}, TIMEOUT);

afterAll(async () => {
  await master?.stop();
  await store?.close();
  await sink?.close();
  await cluster?.destroy();
  if (home) await removeHome(home);
});

it('a post over LMTP reaches every member, the list on PostgreSQL', async () => {
  await lmtp(post('<pg-1@example.org>'));
  const mine = withMessageId('<pg-1@example.org>');
  await sink.until(() => sink.accepted.filter(mine).flatMap((t) => t.recipients).length === MEMBERS.length, 'the post at every member');
  expect(sink.accepted.filter(mine).flatMap((t) => t.recipients).sort()).toEqual([...MEMBERS].sort());
}, TIMEOUT);

it('PostgreSQL stopped mid-run: runners send posts to retry, LMTP answers 4xx; back again, every member gets every post once, nothing shunted', async () => {
  const route = await routeRecipient(store, LIST);
  const writer = new IngressWriter({ spoolRoot: join(home, 'queues'), durability: 'fsync' });
  const ids = Array.from({ length: 5 }, (_, i) => `<pg-outage-${i}@example.org>`);
  await cluster.stop();
  try {
    // Accepted before the outage as far as the spool knows: entries the runners find with the store gone.
    for (const id of ids) await writer.accept(route, post(id), { sender: 'ann@example.org', recipient: LIST, via: 'lmtp' });
    await waitForEntries(home, 'retry', 1);
    // A new post meanwhile: our trouble, so a temporary refusal the MTA keeps the mail for.
    const refused = await lmtp(post('<pg-refused@example.org>')).then(
      () => undefined,
      (error: { responseCode?: number }) => error,
    );
    expect(refused?.responseCode).toBeGreaterThanOrEqual(400);
    expect(refused?.responseCode).toBeLessThan(500);
  } finally {
    await cluster.start();
  }
  for (const id of ids) {
    const mine = withMessageId(id);
    await sink.until(() => sink.accepted.filter(mine).flatMap((t) => t.recipients).length >= MEMBERS.length, `${id} at every member`);
  }
  // Each post exactly once per member; nothing in shunt or bad; retry drained.
  for (const id of ids) expect(sink.accepted.filter(withMessageId(id)).flatMap((t) => t.recipients).sort()).toEqual([...MEMBERS].sort());
  expect(await queueFiles('shunt')).toEqual([]);
  expect(await queueFiles('bad')).toEqual([]);
  expect(await queueFiles('retry')).toEqual([]);
  // What sent them to retry was the store's one temporary error.
  expect(master.lines.some((line) => JSON.stringify(line).includes('SY_STORE_BUSY'))).toBe(true);
}, TIMEOUT);

it('two hosts on one store: a post held through host B is approved with host A\'s CLI and delivered by host A, once', async () => {
  const portB = await freePort();
  // Host B only holds the post: its LMTP listener and incoming runner, nothing else.
  const homeB = await makeHome(testConfig(`[smtp]\nport = ${sink.port}\n\n[lmtp]\nport = ${portB}\n\n[store]\nurl = "${url}"\n\n${builtInRunnersOff(['incoming'])}\n${schedulerOff()}`));
  const masterB = await startMaster(homeB);
  try {
    const raw = Buffer.from(`From: Stranger <stranger@example.net>\r\nTo: ${LIST}\r\nSubject: held via B\r\nMessage-ID: <pg-held@example.net>\r\nDate: Fri, 27 Nov 2026 10:00:00 +0000\r\n\r\nHello.\r\n`);
    await lmtp(raw, portB, 'stranger@example.net');
    // Held by host B's runners, in the shared store: host A's CLI sees it.
    await masterB.waitForLine((line) => typeof line.msg === 'string' && line.msg.startsWith('post held by rule'), 'the post held by host B');
    // Host B stops meanwhile (the post is in the store already), so that only host A can deliver it.
    const [listed] = await Promise.all([runCli(['--home', home, 'held', 'list', LIST, '--json']), masterB.stop()]);
    const held = (JSON.parse(listed.stdout) as { held: Array<{ id: number; subject: string }> }).held;
    expect(held.map((h) => h.subject)).toEqual(['held via B']);
    const approved = await runCli(['--home', home, 'held', 'approve', LIST, String(held[0]!.id)]);
    expect(approved.code, approved.stderr).toBe(0);
    const mine = withMessageId('<pg-held@example.net>');
    await sink.until(() => sink.accepted.filter(mine).flatMap((t) => t.recipients).length >= MEMBERS.length, 'the approved post at every member');
    expect(sink.accepted.filter(mine).flatMap((t) => t.recipients).sort()).toEqual([...MEMBERS].sort());
  } finally {
    await masterB.stop().catch(() => undefined);
    await removeHome(homeB);
  }
}, TIMEOUT);
