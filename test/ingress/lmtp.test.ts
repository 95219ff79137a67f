/**
 * The LMTP runner as the master runs it (runner-process.js, a child
 * process), spoken to over a raw socket: capabilities, pipelining, per
 * recipient replies for several recipients of different queues, unknown
 * addresses, oversize and empty messages, and a graceful SIGTERM in the
 * middle of a transaction.
 */
import { describe, expect, it } from 'vitest';
import { LmtpClient as Client } from './lmtp-client.js';
import { bodyOf, ingressToml, lmtpRunnerPerSuite, startLmtpRunner, waitForQueue } from './harness.js';

const LIST = 'dev@lists.example.org';

const lmtp = lmtpRunnerPerSuite((port) => ingressToml(port, '[ingress]\nmaxMessageSize = 4096\n'), [LIST]);

describe('the LMTP runner', () => {
  it('offers PIPELINING, 8BITMIME, SMTPUTF8 and SIZE; a pipelined transaction for three recipients gets per-recipient replies', async () => {
    const client = await Client.open(lmtp.port);
    client.send(`LHLO test.example\r\nMAIL FROM:<anne@example.net> BODY=8BITMIME\r\nRCPT TO:<${LIST}>\r\nRCPT TO:<nope@lists.example.org>\r\nRCPT TO:<dev-bounces+bob=example.com@lists.example.org>\r\nDATA\r\n`);
    const [lhlo, mail, rcpt1, rcpt2, rcpt3, data] = await client.replies(6);
    expect(lhlo).toMatch(/PIPELINING/);
    expect(lhlo).toMatch(/8BITMIME/);
    expect(lhlo).toMatch(/SMTPUTF8/);
    expect(lhlo).toMatch(/SIZE 4096/);
    expect(mail).toMatch(/^250/);
    expect(rcpt1).toMatch(/^250/);
    expect(rcpt2).toMatch(/^550 5\.1\.1 /);
    expect(rcpt3).toMatch(/^250/);
    expect(data).toMatch(/^354/);
    const body = 'Grüße\r\n..leading dot\r\n';
    client.send(Buffer.from(`Subject: three\r\n\r\n${body}.\r\n`, 'utf8'));
    const [first, second] = await client.replies(2);
    expect(first).toMatch(/^250 .*queued as in\//);
    expect(second).toMatch(/^250 .*queued as bounces\//);
    const [post] = await waitForQueue(lmtp.home, 'in', 1);
    const [bounce] = await waitForQueue(lmtp.home, 'bounces', 1);
    expect(bodyOf(post!.message).toString('utf8')).toBe('Grüße\r\n.leading dot\r\n');
    expect(post!.metadata).toMatchObject({ listId: LIST, envelopeSender: 'anne@example.net', envelopeRecipient: LIST, receivedVia: 'lmtp' });
    expect(bounce!.metadata).toMatchObject({ envelopeRecipient: 'dev-bounces+bob=example.com@lists.example.org' });
    client.send('QUIT\r\n');
    expect((await client.replies(1))[0]).toMatch(/^221/);
  });

  it('answers 552 5.3.4 per recipient for an oversize message, 554 for an empty one, and the null sender is kept as ""', async () => {
    const client = await Client.open(lmtp.port);
    client.send(`LHLO t\r\nMAIL FROM:<>\r\nRCPT TO:<${LIST}>\r\nRCPT TO:<dev-owner@lists.example.org>\r\nDATA\r\n`);
    await client.replies(5);
    client.send(`Subject: big\r\n\r\n${'x'.repeat(8000)}\r\n.\r\n`);
    expect(await client.replies(2)).toEqual([expect.stringMatching(/^552 5\.3\.4 /), expect.stringMatching(/^552 5\.3\.4 /)]);
    client.send(`MAIL FROM:<>\r\nRCPT TO:<${LIST}>\r\nDATA\r\n`);
    await client.replies(3);
    client.send('.\r\n');
    expect((await client.replies(1))[0]).toMatch(/^554 /);
    client.send(`MAIL FROM:<>\r\nRCPT TO:<dev-owner@lists.example.org>\r\nDATA\r\nSubject: to owners\r\n\r\nhi\r\n.\r\n`);
    const replies = await client.replies(4);
    expect(replies[3]).toMatch(/^250 .*queued as virgin\//);
    const [owner] = await waitForQueue(lmtp.home, 'virgin', 1);
    expect(owner!.metadata).toMatchObject({ envelopeSender: '', toOwners: true, listId: LIST });
    client.socket.destroy();
  });

  it('on SIGTERM stops listening, tells idle connections 421, finishes the transaction in DATA with 250, and exits 0', async () => {
    const before = (await waitForQueue(lmtp.home, 'in', 0)).length;
    const idle = await Client.open(lmtp.port);
    const busy = await Client.open(lmtp.port);
    busy.send(`LHLO t\r\nMAIL FROM:<anne@example.net>\r\nRCPT TO:<${LIST}>\r\nDATA\r\n`);
    await busy.replies(4);
    busy.send('Subject: in flight\r\n\r\nfirst half\r\n');
    lmtp.runner.child.kill('SIGTERM');
    expect((await idle.replies(1))[0]).toMatch(/^421 /);
    await lmtp.runner.waitForLine((line) => line.msg === 'stopping: finishing entries in flight', 'stopping');
    busy.send('second half\r\n.\r\n');
    expect((await busy.replies(1))[0]).toMatch(/^250 /);
    expect(await lmtp.runner.exited).toEqual({ code: 0, signal: null });
    const after = await waitForQueue(lmtp.home, 'in', before + 1);
    expect(after.some((entry) => bodyOf(entry.message).toString() === 'first half\r\nsecond half\r\n')).toBe(true);
    await expect(Client.open(lmtp.port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    lmtp.runner = await startLmtpRunner(lmtp.home);
  });
});
