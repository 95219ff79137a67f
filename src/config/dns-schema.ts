/**
 * The `[dns]` section: the resolver switchyard's own DNS lookups use
 * (`switchyard dkim check`, the DMARC policy lookups of the incoming
 * runner), node:dns's Resolver with these servers (src/mail/dns-resolver.ts).
 */
import { z } from 'zod';
import { isIP } from 'node:net';
import { durationKnob, integerKnob } from './knob-types.js';

/** `1.2.3.4`, `1.2.3.4:5353`, `::1` or `[::1]:5353`, as node:dns's setServers takes them. */
const server = z.string().refine((value) => {
  const bracketed = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(value);
  if (bracketed) return isIP(bracketed[1]!) === 6 && (bracketed[2] === undefined || Number(bracketed[2]) <= 65535);
  if (isIP(value) !== 0) return true;
  const withPort = /^([\d.]+):(\d{1,5})$/.exec(value);
  return withPort !== null && isIP(withPort[1]!) === 4 && Number(withPort[2]) <= 65535;
}, 'an IP address, optionally with a port: "192.0.2.53", "192.0.2.53:5353", "[2001:db8::53]:53"');

export const dnsSchema = z
  .object({
    servers: z.array(server).default([]).describe("the DNS servers asked; empty: the system's (/etc/resolv.conf)"),
    timeout: durationKnob('5s', 'a query unanswered this long is tried again, then given up'),
    cacheSize: integerKnob(10_000, 0, 10_000_000, 'answers kept per process (least recently used dropped first), "no such name" included; 0: no cache'),
    cacheTtl: durationKnob('5m', 'how long a kept answer is used before the name is asked again'),
  })
  .strict()
  .prefault({})
  .describe('DNS lookups (`switchyard dkim check`, DMARC policies of posts)');

export type DnsConfig = z.output<typeof dnsSchema>;
