/**
 * The `[lmtp]` and `[ingress]` sections: how mail gets in from the MTA.
 * Imported by src/config/schema.ts as two fields. `[ingress]` applies to
 * both ways in (the LMTP runner and `switchyard inject`).
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { durationKnob, integerKnob } from '../config/knob-types.js';

/** An IPv4 or IPv6 address, or one with a `/prefix` of a valid length (`lmtp.mtaAddresses`). */
export function isAddressOrBlock(entry: string): boolean {
  const [address, prefix, extra] = entry.split('/');
  if (extra !== undefined || address === undefined) return false;
  const family = isIP(address);
  if (family === 0) return false;
  if (prefix === undefined) return true;
  if (!/^\d{1,3}$/.test(prefix)) return false;
  return Number(prefix) <= (family === 4 ? 32 : 128);
}

export const lmtpSchema = z
  .object({
    host: z.string().min(1).default('127.0.0.1').describe('address the LMTP runner listens on (the MTA delivers to it; keep it on loopback unless the MTA is elsewhere)'),
    port: integerKnob(8024, 1, 65535, "its port (Mailman's default; Postfix: `lmtp:[127.0.0.1]:8024`)"),
    maxClients: integerKnob(50, 1, 10_000, 'LMTP connections open at once; more are refused with 421 until one closes'),
    maxRecipients: integerKnob(1000, 1, 100_000, 'recipients per LMTP transaction; more get 452 (the MTA sends them in the next transaction)'),
    maxClientsPerAddress: integerKnob(10, 1, 10_000, 'LMTP connections at once from one address not in mtaAddresses; more are refused with 421'),
    reservedClients: integerKnob(10, 0, 9_999, 'of maxClients, slots only mtaAddresses may take, so other clients cannot shut the MTA out (must be below maxClients)'),
    mtaAddresses: z
      .array(z.string().refine(isAddressOrBlock, { message: 'not an IP address or CIDR block (e.g. "127.0.0.1", "10.1.0.0/16", "::1")' }))
      .default(['127.0.0.1', '::1'])
      .describe("the MTA's addresses (IP or CIDR block): exempt from maxClientsPerAddress, and the only clients that may take reservedClients"),
    idleTimeout: durationKnob('30s', 'an LMTP connection with no transaction open (from connect or the end of its last transaction to MAIL) is closed with 421 after this long, whatever else it sends'),
    socketTimeout: durationKnob('5m', 'an LMTP connection silent this long is closed (a transaction in it is not accepted)'),
    closeTimeout: durationKnob('20s', 'on stop, transactions in flight get this long to finish before their connections are cut (keep it below master.stopTimeout)'),
  })
  .strict()
  .superRefine((lmtp, ctx) => {
    if (lmtp.reservedClients >= lmtp.maxClients) {
      ctx.addIssue({ code: 'custom', path: ['reservedClients'], message: `must be below maxClients (${lmtp.maxClients}): clients other than the MTA need at least one slot` });
    }
  })
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
