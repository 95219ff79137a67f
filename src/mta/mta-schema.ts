/**
 * The `[mta]` section: the files `switchyard aliases` writes for the MTA
 * (src/mta/). Imported by src/config/schema.ts as one field.
 */
import { z } from 'zod';

export const mtaSchema = z
  .object({
    postfixMapType: z
      .enum(['hash', 'lmdb', 'cdb', 'btree', 'texthash'])
      .default('hash')
      .describe("Postfix lookup table type of the written maps (main.cf says `hash:<home>/postfix_lmtp`); 'texthash' needs no postmap but a `postfix reload` after each change"),
    postmapCommand: z
      .string()
      .default('/usr/sbin/postmap')
      .describe("run as `postmapCommand TYPE:FILE` on each written map (not for texthash), so Postfix sees list changes at once; '' skips it"),
    pipeCommand: z
      .string()
      .default('')
      .describe("the switchyard command the pipe transport and Exim run, as written into their files; '' means this installation (`node <path>/main.js`)"),
  })
  .strict()
  .prefault({})
  .describe('the MTA integration files that `switchyard aliases` writes into the home directory');

export type MtaConfig = z.output<typeof mtaSchema>;

/** `host:port`, `[ipv6]:port` or `name:port`: one switchyard host's LMTP listener as the MTA reaches it. */
const LMTP_DESTINATION = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?)):(\d{1,5})$/;

export interface LmtpDestination {
  host: string;
  port: number;
}

/** A `[hosts] lmtp` entry as host and port, or undefined when it is not one. */
export function parseLmtpDestination(text: string): LmtpDestination | undefined {
  const match = LMTP_DESTINATION.exec(text);
  if (match === null) return undefined;
  const host = match[1] ?? match[2];
  const port = Number(match[3]);
  if (host === undefined || port < 1 || port > 65535) return undefined;
  if (match[1] !== undefined && !match[1].includes(':')) return undefined;
  return { host, port };
}

export const hostsSchema = z
  .object({
    lmtp: z
      .array(
        z.string().refine((value) => parseLmtpDestination(value) !== undefined, {
          message: 'an LMTP destination is host:port, [IPv6]:port or name:port, such as "10.0.0.5:8024" or "[2001:db8::5]:8024"',
        }),
      )
      .default([])
      .describe('the LMTP listeners of every switchyard host sharing this site\'s store, in the order the MTA tries them (`switchyard aliases` writes them into the Postfix and Exim files: the next is tried when one refuses or is down; Postfix 3.5 or later); empty: this host\'s own [lmtp] host and port'),
  })
  .strict()
  .prefault({})
  .describe('the switchyard hosts of a site that several hosts serve (one shared PostgreSQL store, one spool each)');

export type HostsConfig = z.output<typeof hostsSchema>;
