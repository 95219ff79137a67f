/**
 * The `out` entry: what the incoming runner hands the outgoing runner.
 *
 *   message   the entry's message bytes, sent exactly as they are;
 *   metadata  { listId, sender, recipients, verp?, listPosting? }
 *     listId       the list, for logs and bounce events;
 *     sender       the envelope sender (MAIL FROM) in bulk mode;
 *     recipients   envelope recipients still to deliver (the outgoing runner
 *                  replaces them with the ones left when it defers the entry);
 *     verp         one transaction per recipient with a VERP envelope sender;
 *     listPosting  `name@domain`, which VERP needs to build that sender.
 *     personalize  { headers?, footer? }: each recipient's copy gets these
 *                  header fields at the top of its header block and, where
 *                  the message is plain text (outgoing/render-worker.ts says
 *                  exactly when), the footer at the end of its body; values
 *                  may hold `{address}` (the recipient) and `{list}` (the
 *                  listPosting). Needs verp: one copy per transaction.
 *
 * Validated when dequeued: a malformed entry is an error, so it lands in
 * `shunt` with the reason, never half-sent.
 */
import { z } from 'zod';
import type { JsonObject } from '../../queues/index.js';
import { headerValueProblem } from '../../src/mail/header-field.js';
import { MalformedOutEntryError } from './errors.js';

export const OUT_QUEUE = 'out';

const address = z
  .string()
  .min(3)
  .max(320)
  .regex(/^[^\s<>@]+@[^\s<>@]+$/, 'an address local@domain without spaces or angle brackets');

export const outEntrySchema = z
  .object({
    listId: z.string().min(1),
    // The null sender `<>` is allowed (an empty string), as MTAs allow it.
    sender: z.union([address, z.literal('')]),
    recipients: z.array(address).min(1),
    verp: z.boolean().optional(),
    listPosting: address.optional(),
    personalize: z
      .object({
        headers: z.record(z.string().regex(/^[!-9;-~]+$/, 'a header field name (printable ASCII, no colon or space)'), z.string().max(2_000).refine((value) => headerValueProblem(value) === null, 'a header value may not hold CR, LF or NUL')).optional(),
        footer: z.string().max(20_000).optional(),
      })
      .strict()
      .optional(),
  })
  .passthrough()
  .refine((entry) => !entry.verp || entry.listPosting !== undefined, { message: 'verp needs listPosting (name@domain)', path: ['listPosting'] })
  .refine((entry) => entry.personalize === undefined || entry.verp === true, { message: 'personalize needs verp (one copy per recipient)', path: ['personalize'] });

export type OutEntry = z.output<typeof outEntrySchema>;

export function parseOutEntry(metadata: JsonObject): OutEntry {
  const result = outEntrySchema.safeParse(metadata);
  if (!result.success) {
    throw new MalformedOutEntryError(result.error.issues.map((issue) => `${issue.path.map(String).join('.') || '(metadata)'}: ${issue.message}`));
  }
  return result.data;
}

/** The metadata of an out entry, for producers (the incoming runner, tests, benchmarks). */
export function outMetadata(entry: OutEntry): JsonObject {
  return JSON.parse(JSON.stringify(entry)) as JsonObject;
}
