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
import { MalformedOutEntryError } from './errors.js';
import { OUT_QUEUE, outEntrySchema } from '../queue-names.js';

export { OUT_QUEUE, outEntrySchema };

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
