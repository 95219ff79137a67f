/**
 * Mail a strict smarthost accepts, and what happens when it refuses one,
 * through a real master and every built-in runner, posts injected with the
 * real CLI, delivered to a real SMTP sink on loopback that refuses, as
 * strict MTAs do, any line over RFC 5322's 998 octets (`500 Line too long`)
 * and, scripted, a post for its content (`554 5.6.0`).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SmtpSink, type SinkTransaction } from '../fixtures/smtp-sink.js';
import { builtInRunnersOff, makeHome, removeHome, runCli, schedulerOff, startMaster, testConfig, type MasterHandle } from '../master/harness.js';
import { contentTypeOf, splitMultipart } from '../../src/mail/mime-entity.js';
import { longestLine } from '../../src/mail/line-length.js';
import { RawMessage } from '../../src/mail/raw-message.js';
import { decodeQuotedPrintable } from '../../src/mail/transfer-encoding.js';
import { openStore, type Store } from '../../src/store/index.js';

const LIST = 'team@lists.example.org';
const TIMEOUT = 300_000;
const MEMBERS = ['ann@example.org', 'bob@example.net'];

let sink: SmtpSink;
let home: string;
let master: MasterHandle;
let store: Store;

function post(subject: string, messageId: string, body: string, extra = ''): string {
  return `From: Ann <ann@example.org>\r\nTo: Team <${LIST}>\r\nSubject: ${subject}\r\nMessage-ID: ${messageId}\r\nDate: Fri, 27 Nov 2026 10:00:00 +0000\r\n${extra}MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n${body}`;
}

async function inject(message: string): Promise<void> {
  const result = await runCli(['--home', home, 'inject', '--list', LIST], {}, message);
  expect(result.code, result.stderr).toBe(0);
}

function withMessageId(id: string): (t: SinkTransaction) => boolean {
  return (t) => t.body !== undefined && RawMessage.parse(t.body).get('message-id') === id;
}

beforeAll(async () => {
  sink = await SmtpSink.start({
    keepBodies: true,
    maxLineLength: 998,
    // Refuses a post for its content, by a field only that post carries at its top level.
    script: { message: (body) => (RawMessage.parse(body).has('X-Refuse-Me') ? 554 : undefined) },
  });
  // Bounces, command and the scheduler take no part: each is a node process fewer to start.
  home = await makeHome(testConfig(`[smtp]\nport = ${sink.port}\n\n${builtInRunnersOff(['incoming', 'archive', 'outgoing', 'virgin', 'retry'])}\n${schedulerOff()}`));
  store = openStore(home);
  await store.createList({ address: LIST });
  await store.addMembers(LIST, [...MEMBERS.map((address) => ({ address })), { address: 'owner@example.com', role: 'owner' as const }]);
  master = await startMaster(home);
}, TIMEOUT);

afterAll(async () => {
  await master?.stop();
  await store?.close();
  await sink?.close();
  if (home) await removeHome(home);
});

it('a post with a 4,000-octet line is re-encoded before delivery: the strict smarthost accepts it and it decodes to the same text', async () => {
  const body = `Hello team,\r\n${'Grüße aus dem Log: '.repeat(200)}\r\nAnn\r\n`;
  await inject(post('long line', '<strict-1@example.org>', body));
  const mine = withMessageId('<strict-1@example.org>');
  await sink.until(() => sink.accepted.some(mine), 'the post at the members');
  const [copy] = sink.accepted.filter(mine);
  expect(copy!.recipients.sort()).toEqual(MEMBERS);
  expect(longestLine(copy!.body!)).toBeLessThanOrEqual(998);
  const delivered = RawMessage.parse(copy!.body!);
  expect(delivered.get('content-transfer-encoding')).toBe('quoted-printable');
  expect(delivered.get('content-type')).toBe('text/plain; charset=utf-8');
  expect(decodeQuotedPrintable(delivered.body).toString('utf8')).toBe(body);
  const counts = JSON.parse((await runCli(['--home', home, 'queue', 'count', '--json'])).stdout) as Record<string, { pck: number }>;
  expect(counts.shunt?.pck ?? 0).toBe(0);
}, TIMEOUT);

it('a post the smarthost refuses with 554 5.6.0 goes to the owners as a notice with the reply and the post; the post is kept in shunt for every member', async () => {
  await inject(post('refuse me', '<strict-2@example.org>', 'This one the smarthost will not take.\r\n', 'X-Refuse-Me: yes\r\n'));
  await sink.until(
    () => sink.accepted.some((t) => t.recipients.includes('owner@example.com') && RawMessage.parse(t.body!).get('subject') === `A post to ${LIST} was refused by the smarthost`),
    'the refusal notice at the owner',
  );
  const notice = sink.accepted.find((t) => t.recipients.includes('owner@example.com'))!;
  const message = RawMessage.parse(notice.body!);
  expect(message.get('auto-submitted')).toBe('auto-generated');
  const text = notice.body!.toString('utf8');
  expect(text).toContain('554 5.6.0 Transaction failed: message refused');
  expect(text).toMatch(/Subject: +\[\w+\] refuse me/);
  // The post itself is attached, as message/rfc822.
  const layout = splitMultipart(message.body, contentTypeOf(message).params.boundary)!;
  const attached = RawMessage.parse(message.body.subarray(layout.parts[1]!.start, layout.parts[1]!.end));
  expect(attached.get('content-type')).toBe('message/rfc822');
  expect(RawMessage.parse(attached.body).get('message-id')).toBe('<strict-2@example.org>');
  // Nothing lost: the post waits in shunt for all its recipients, and nobody got it.
  expect(sink.accepted.filter(withMessageId('<strict-2@example.org>'))).toHaveLength(0);
  const listed = JSON.parse((await runCli(['--home', home, 'queue', 'list', 'shunt', '--json'])).stdout) as unknown;
  const entries = (Array.isArray(listed) ? listed : (listed as { entries: unknown[] }).entries) as Array<{ id: string }>;
  expect(entries).toHaveLength(1);
  const shown = await runCli(['--home', home, 'queue', 'show', entries[0]!.id, '--raw']);
  expect(RawMessage.parse(Buffer.from(shown.stdout, 'utf8')).get('message-id')).toBe('<strict-2@example.org>');
  expect(text).toContain(`switchyard queue requeue ${entries[0]!.id}`);
  const json = await runCli(['--home', home, 'queue', 'show', entries[0]!.id, '--json']);
  expect(((JSON.parse(json.stdout) as { metadata: { recipients: string[] } }).metadata.recipients).sort()).toEqual(MEMBERS);
}, TIMEOUT);
