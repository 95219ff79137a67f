/**
 * The `[auth]` section: how the incoming runner verifies what arrives (DKIM,
 * SPF, DMARC, ARC with mailauth, runners/incoming/auth-worker.ts) and the
 * Authentication-Results field it writes (RFC 8601).
 */
import { z } from 'zod';
import { durationKnob } from './knob-types.js';

/** An authserv-id: a host name as RFC 8601 2.5 recommends (a value token, no spaces or specials). */
const authservId = z.string().regex(/^[A-Za-z0-9!#$%&'*+\-.^_`{|}~]*$/, 'a host name such as mx.example.org (no spaces, ";" or quotes)');

export const authSchema = z
  .object({
    verify: z.boolean().default(true).describe('verify DKIM, SPF, DMARC and ARC of every post and prepend Authentication-Results'),
    authservId: authservId.default('').describe("the authserv-id of our Authentication-Results (RFC 8601); empty: this host's name"),
    trustedAuthservId: authservId
      .default('')
      .describe("the authserv-id of the upstream MTA whose Authentication-Results spf= is taken as ours (the MTA saw the client); empty: SPF from its topmost Received"),
    timeout: durationKnob('20s', 'a verification still running after this long gives temperror results (the post goes on)'),
  })
  .strict()
  .prefault({})
  .describe('verification of incoming posts (see "Authentication results")');

export type AuthConfig = z.output<typeof authSchema>;
