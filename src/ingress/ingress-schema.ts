/**
 * The `[lmtp]` and `[ingress]` sections: how mail gets in from the MTA.
 * Imported by src/config/schema.ts as two fields. `[ingress]` applies to
 * both ways in (the LMTP runner and `switchyard inject`).
 */
import { z } from 'zod';
import { durationKnob, integerKnob } from '../config/knob-types.js';

export const lmtpSchema = z
  .object({
    host: z.string().min(1).default('127.0.0.1').describe('address the LMTP runner listens on (the MTA delivers to it; keep it on loopback unless the MTA is elsewhere)'),
    port: integerKnob(8024, 1, 65535, "its port (Mailman's default; Postfix: `lmtp:[127.0.0.1]:8024`)"),
    maxClients: integerKnob(50, 1, 10_000, 'LMTP connections open at once; more are refused with 421 until one closes'),
    maxRecipients: integerKnob(1000, 1, 100_000, 'recipients per LMTP transaction; more get 452 (the MTA sends them in the next transaction)'),
    socketTimeout: durationKnob('5m', 'an LMTP connection silent this long is closed (a transaction in it is not accepted)'),
    closeTimeout: durationKnob('20s', 'on stop, transactions in flight get this long to finish before their connections are cut (keep it below master.stopTimeout)'),
  })
  .strict()
  .prefault({})
  .describe('the LMTP runner (runners/lmtp.ts): the MTA delivers list mail to it');

export const ingressSchema = z
  .object({
    maxMessageSize: integerKnob(26_214_400, 1024, 2 ** 31 - 1, 'largest message accepted, in bytes (25 MiB); LMTP advertises it as SIZE'),
    onOversize: z
      .enum(['reject', 'defer'])
      .default('reject')
      .describe("a larger message: 'reject' refuses it for good (LMTP 552 5.3.4, inject exit 69), 'defer' makes the MTA keep it (LMTP 452, inject exit 75)"),
  })
  .strict()
  .prefault({})
  .describe('what the LMTP runner and `switchyard inject` accept');

export type LmtpConfig = z.output<typeof lmtpSchema>;
export type IngressConfig = z.output<typeof ingressSchema>;
