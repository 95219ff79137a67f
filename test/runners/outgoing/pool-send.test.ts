/**
 * poolSend(): a transaction handed to nodemailer's pool below sendMail().
 * It takes only envelopes sendMail() would pass unchanged (checked against
 * nodemailer's own envelope handling, not a copy of its rules), and what
 * reaches a real SMTP server on loopback is what sendMail() delivers: the
 * same envelope, the same bytes (dot-stuffing undone by the server, a final
 * line break added where missing), the same accepted list.
 */
import { afterEach, describe, expect, it } from 'vitest';
import nodemailer, { type Transporter } from 'nodemailer';
import { plainAddress, poolSend } from '../../../runners/outgoing/pool-send.js';
import { SmtpSink } from '../../fixtures/smtp-sink.js';

const sinks: SmtpSink[] = [];
const transports: Transporter[] = [];

afterEach(async () => {
  for (const transport of transports.splice(0)) transport.close();
  for (const sink of sinks.splice(0)) await sink.close();
});

/** The envelope sendMail() would send for `address` (nodemailer's MimeNode: address parsing, punycode, lower-casing). */
async function sendMailEnvelope(address: string): Promise<{ from: string; to: string[] }> {
  const transport = nodemailer.createTransport({ jsonTransport: true });
  const info = await transport.sendMail({ envelope: { from: address, to: [address] }, raw: 'Subject: x\r\n\r\nbody\r\n' });
  return info.envelope as unknown as { from: string; to: string[] };
}

async function pool(): Promise<{ sink: SmtpSink; transport: Transporter }> {
  const sink = await SmtpSink.start({ keepBodies: true });
  sinks.push(sink);
  const transport = nodemailer.createTransport({ pool: true, host: '127.0.0.1', port: sink.port, maxConnections: 2, logger: false });
  transports.push(transport);
  return { sink, transport };
}

describe('poolSend', () => {
  it('takes an address only when sendMail() would send it exactly as written', async () => {
    const plain = ['a@b.example', 'list-bounces+m0x1=d1.example@lists.example.org', 'A.B@c.d', "o'hara{x}|~@ab-c.d9.com", 'a@b', 'a@1.com', 'x@ab--cd.com'];
    const rewritten = ['x@Example.com', 'x@127.1', 'x@jõgeva.ee', '"q"@a.b', 'a..b@c.d', '.a@b.c'];
    const other = ['ü@a.example', 'x@a.0x1', 'x@xn--jgeva-dua.ee', 'a@-b.c', 'a@b-.c', 'a@b.1c', 'no-at-sign', '@b.c', 'a@'];
    for (const address of plain) {
      expect(plainAddress(address), address).toBe(true);
      expect(await sendMailEnvelope(address), address).toEqual({ from: address, to: [address] });
    }
    for (const address of rewritten) {
      expect(plainAddress(address), address).toBe(false);
      expect(await sendMailEnvelope(address), address).not.toEqual({ from: address, to: [address] });
    }
    for (const address of other) expect(plainAddress(address), address).toBe(false);
  });

  it('leaves an envelope it cannot take to sendMail(): undefined, nothing sent', async () => {
    const { sink, transport } = await pool();
    expect(poolSend(transport, 'a@b.example', ['x@Example.com'], [Buffer.from('Subject: x\r\n\r\nbody\r\n')], new AbortController().signal)).toBeUndefined();
    expect(poolSend(transport, '"q"@b.example', ['x@example.com'], [Buffer.from('Subject: x\r\n\r\nbody\r\n')], new AbortController().signal)).toBeUndefined();
    expect(sink.connections).toBe(0);
  });

  it('delivers what sendMail() delivers: envelope, bytes (leading dots, a missing final line break), accepted recipients', async () => {
    const { sink, transport } = await pool();
    const messages = ['Subject: x\r\n\r\nbody\r\n.leading dot\r\n', 'Subject: x\r\n\r\nno final line break', 'Subject: x\r\n\r\nends in a CR\r'];
    for (const text of messages) {
      const message = Buffer.from(text);
      const envelope = { from: 'list-bounces+a=b.example@lists.example.org', to: ['a@b.example', 'c@d.example'] };
      const viaPool = await poolSend(transport, envelope.from, envelope.to, [message], new AbortController().signal)!;
      const viaSendMail = await transport.sendMail({ envelope, raw: message });
      expect(viaPool.accepted).toEqual(viaSendMail.accepted);
      expect(viaPool.response).toMatch(/^250/);
    }
    expect(sink.accepted).toHaveLength(messages.length * 2);
    for (let i = 0; i < messages.length; i++) {
      const [pooled, sent] = [sink.accepted[2 * i]!, sink.accepted[2 * i + 1]!];
      expect({ from: pooled.from, recipients: pooled.recipients }).toEqual({ from: sent.from, recipients: sent.recipients });
      expect(pooled.body!.toString('latin1')).toBe(sent.body!.toString('latin1'));
    }
  });

  it('sends a message given in parts (a personalised copy: its header fields, the shared bytes, its footer) as the parts joined', async () => {
    const { sink, transport } = await pool();
    const parts = [Buffer.from('X-To: a@b.example\r\n'), Buffer.from('Subject: x\r\n\r\nbody\r\n'), new Uint8Array(0), Buffer.from('-- \r\nfooter')];
    const info = await poolSend(transport, 'l-bounces+a=b.example@lists.example', ['a@b.example'], parts, new AbortController().signal)!;
    expect(info.accepted).toEqual(['a@b.example']);
    expect(sink.accepted[0]!.body!.toString('latin1')).toBe('X-To: a@b.example\r\nSubject: x\r\n\r\nbody\r\n-- \r\nfooter\r\n');
  });

  it('a signal aborted mid-transaction fails it, as with sendMail()', async () => {
    const { transport } = await pool();
    const controller = new AbortController();
    const sending = poolSend(transport, 'a@b.example', ['c@d.example'], [Buffer.from('Subject: x\r\n\r\nbody\r\n')], controller.signal)!;
    controller.abort();
    await expect(sending).rejects.toThrow();
  });
});
