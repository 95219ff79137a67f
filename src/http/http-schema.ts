/**
 * The `[http]` section: the HTTP service (runners/http.ts) that serves the
 * REST API, the OpenAPI document and the metrics. Imported by
 * src/config/schema.ts as one field.
 */
import { z } from 'zod';
import { durationKnob, integerKnob } from '../config/knob-types.js';

const httpsUrl = z
  .string()
  .refine((value) => {
    try {
      const url = new URL(value);
      return (url.protocol === 'https:' || url.protocol === 'http:') && url.search === '' && url.hash === '';
    } catch {
      return false;
    }
  }, { message: 'an absolute http(s) URL without query or fragment, such as "https://lists.example.org"' });

export const httpSchema = z
  .object({
    enabled: z.boolean().default(true).describe('start the HTTP service (REST API, OpenAPI document, metrics) with the master'),
    listen: z.string().min(1).default('127.0.0.1').describe('address the HTTP service listens on; keep it on loopback and put nginx or Caddy in front for TLS'),
    port: integerKnob(8025, 1, 65535, 'its port'),
    baseUrl: httpsUrl.optional().describe('the public URL the service is reached at through the proxy (links in mail); default http://listen:port'),
    trustProxy: z
      .union([z.boolean(), z.string().min(1)])
      .default(false)
      .describe('trust X-Forwarded-For from the proxy in front: true, or its address or CIDR block (fastify trustProxy); the client address then comes from that header'),
    bodyLimit: integerKnob(1_048_576, 1024, 104_857_600, 'largest request body accepted, in bytes; larger ones get 413'),
    importBodyLimit: integerKnob(
      67_108_864,
      1024,
      1_073_741_824,
      'largest member file accepted by the member import (REST API and web admin), in bytes; larger ones get 413 SY_API_TOO_LARGE. The file must still arrive within requestTimeout',
    ),
    requestTimeout: durationKnob('30s', 'a request (header fields and body) not received whole within this long is answered 408 and its connection closed, checked every quarter of it (at least every second), so slow clients (slowloris) hold no connection for long; a connection idle this long is closed; "0s": no limit'),
    secretGrace: durationKnob('60d', 'after `switchyard secret rotate`, links and cookies signed with the old site secret (one-click unsubscribe links in mail already sent, sessions) still work for this long'),
    loginLinkLifetime: durationKnob('15m', 'a web admin login link mailed by /login works once and for this long'),
    sessionLifetime: durationKnob('12h', 'a web admin session ends this long after its login (logging out ends it at once)'),
    rateLimit: integerKnob(60, 1, 1_000_000, 'requests per minute one client address may make to the public routes (health, version, the OpenAPI document); more get 429'),
  })
  .strict()
  .prefault({})
  .describe('the HTTP service (runners/http.ts): REST API under /api/v1, /api/openapi.json, /metrics');

export type HttpConfig = z.output<typeof httpSchema>;
