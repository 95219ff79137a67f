/**
 * One look at the smarthost, as the outgoing runner starts: connect (TLS from
 * the first byte when `smtp.secure`), read the greeting, EHLO, QUIT, each
 * reply awaited within one overall deadline. No mail is sent, no AUTH is
 * tried: it answers whether the MTA is there and talks SMTP, which is what an
 * operator needs to know before mail piles up in `retry`. A smarthost that
 * does not answer is a warning, never a refusal to start (it may come up
 * later; deliveries are retried).
 */
import { connect as connectTcp, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import type { SmtpConfig } from '../../src/config/smtp-schema.js';

export interface SmarthostProbe {
  /** `host:port`. */
  destination: string;
  answers: boolean;
  /** Why it does not answer ("connection refused", "greeting 421 ..."); absent when it answers. */
  reason?: string;
  /** ISO time of the check. */
  at: string;
}

/** The probe's result as the one line `start` and `status` print. */
export function probeLine(probe: SmarthostProbe): string {
  return probe.answers ? `smarthost ${probe.destination} answers` : `smarthost ${probe.destination} does not answer: ${probe.reason}`;
}

export async function probeSmarthost(smtp: SmtpConfig, ehloName: string, timeoutMs: number, now: () => number = Date.now): Promise<SmarthostProbe> {
  const destination = `${smtp.host}:${smtp.port}`;
  const at = new Date(now()).toISOString();
  try {
    await converse(smtp, ehloName, timeoutMs);
    return { destination, answers: true, at };
  } catch (error) {
    return { destination, answers: false, reason: describe(error, timeoutMs), at };
  }
}

class ProbeFailure extends Error {}

function converse(smtp: SmtpConfig, ehloName: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket: Socket = smtp.secure
      ? connectTls({ host: smtp.host, port: smtp.port, servername: smtp.host, rejectUnauthorized: smtp.tlsRejectUnauthorized })
      : connectTcp({ host: smtp.host, port: smtp.port });
    let settled = false;
    const finish = (error?: unknown): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (error === undefined) resolve();
      else reject(error);
    };
    const timer = setTimeout(() => finish(new ProbeFailure(`no answer within ${Math.round(timeoutMs / 100) / 10} s (smtp.probeTimeout)`)), timeoutMs);
    let buffer = '';
    let reply: string[] = [];
    // The steps: each expects a reply class, then says what to send next.
    const steps: Array<{ what: string; expect: number; next?: string }> = [
      { what: 'greeting', expect: 2, next: `EHLO ${ehloName}\r\n` },
      { what: 'EHLO', expect: 2, next: 'QUIT\r\n' },
      { what: 'QUIT', expect: 2 },
    ];
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, newline).replace(/\r$/, '');
        buffer = buffer.slice(newline + 1);
        reply.push(line);
        // A multi-line reply continues while the fourth character is '-'.
        if (/^\d{3}-/.test(line)) continue;
        const step = steps.shift();
        if (step === undefined) continue;
        const code = Number(line.slice(0, 3));
        if (!Number.isInteger(code) || Math.floor(code / 100) !== step.expect) {
          return finish(new ProbeFailure(`${step.what} answered ${oneLine(reply.join(' '))}`));
        }
        reply = [];
        if (step.next === undefined) return finish();
        socket.write(step.next);
      }
      if (buffer.length > 65_536) finish(new ProbeFailure('a reply line longer than 64 KiB: not an SMTP server'));
    });
    socket.once('error', (error) => finish(error));
    socket.once('close', () => {
      // Closing right after QUIT was sent and before its 221 is fine; any earlier close is not.
      if (steps.length === 1 && steps[0]!.what === 'QUIT') finish();
      else finish(new ProbeFailure(steps.length === 3 ? 'the connection closed before a greeting' : 'the connection closed in the middle of the conversation'));
    });
  });
}

function oneLine(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length <= 200 ? flat : `${flat.slice(0, 199)}…`;
}

function describe(error: unknown, timeoutMs: number): string {
  if (error instanceof ProbeFailure) return error.message;
  const err = error as NodeJS.ErrnoException;
  switch (err.code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ECONNRESET':
      return 'connection reset';
    case 'ETIMEDOUT':
      return `no answer within ${Math.round(timeoutMs / 100) / 10} s (smtp.probeTimeout)`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host name not found';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'host unreachable';
    default:
      return err.code !== undefined ? `${err.code}: ${err.message}` : err.message;
  }
}
