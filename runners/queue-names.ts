/**
 * The one table of the queues switchyard's runners use: each queue's name,
 * what its entries are, and the zod schema of their metadata. Writers and
 * readers name queues by these constants, never by string literals, and the
 * runners validate an entry's metadata with the schema given here.
 *
 * queues/ knows nothing of mail: which queues a home has from the start
 * (STANDARD_QUEUES) and which metadata key keeps one list's entries
 * together in a slice (LIST_ID_HASH_KEY) are passed to it as options
 * (SPOOL_OPTIONS), from here.
 */
import { z } from 'zod';
import { ARCHIVE_QUEUE, BAD_QUEUE, BOUNCES_QUEUE, COMMAND_QUEUE, IN_QUEUE, LIST_ID_HASH_KEY, OUT_QUEUE, RETRY_QUEUE, SHUNT_QUEUE, SPOOL_OPTIONS, STANDARD_QUEUES, SWITCHBOARD_OPTIONS, VIRGIN_QUEUE } from './queue-ids.js';
// The guard alone, not the writer: this table is loaded by every runner and by LMTP, which need no RFC 2047 encoder.
import { headerValueProblem } from '../src/mail/header-value.js';

export { ARCHIVE_QUEUE, BAD_QUEUE, BOUNCES_QUEUE, COMMAND_QUEUE, IN_QUEUE, LIST_ID_HASH_KEY, OUT_QUEUE, RETRY_QUEUE, SHUNT_QUEUE, SPOOL_OPTIONS, STANDARD_QUEUES, SWITCHBOARD_OPTIONS, VIRGIN_QUEUE };



const listId = z.string().min(3);

/** What ingress (LMTP, `switchyard inject`) writes on every entry it accepts (src/ingress/ingress-writer.ts). */
export const ingressMetadataSchema = z
  .object({
    listId,
    envelopeSender: z.string().optional(),
    envelopeRecipient: z.string().optional(),
    receivedAt: z.string().optional(),
    receivedVia: z.string().optional(),
  })
  .passthrough();

/** `approval` in the metadata of a post a moderator approved (back on `in`). */
export const approvalSchema = z.object({ heldId: z.number().int().positive(), token: z.string().min(8), by: z.string(), at: z.string() });

/** `in`: ingress metadata; an approved post also carries `approval`. */
export const inMetadataSchema = ingressMetadataSchema.extend({ approval: approvalSchema.optional() });

const address = z
  .string()
  .min(3)
  .max(320)
  .regex(/^[^\s<>@]+@[^\s<>@]+$/, 'an address local@domain without spaces or angle brackets');

/** `out`: one SMTP transaction's worth (runners/outgoing/out-entry.ts parses with it). */
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

/** `virgin`: a notice or -owner mail, to `recipients` and/or (toOwners) the list's owners and moderators. */
export const virginEntrySchema = z
  .object({
    listId,
    recipients: z.array(z.string()).optional(),
    toOwners: z.boolean().optional(),
    sender: z.string().optional(),
    /** A notice about a held post: dropped once that post no longer waits. */
    heldId: z.number().int().positive().optional(),
  })
  .passthrough();

/** `bounces`, from the outgoing runner: one recipient's failure as the smarthost reported it. */
export const bounceEventSchema = z.object({
  type: z.literal('bounce-event'),
  listId,
  recipient: z.string().min(3),
  permanent: z.boolean(),
  smtpCode: z.number().nullable().optional(),
  enhancedStatus: z.string().nullable().optional(),
  response: z.string().default(''),
  at: z.string().optional(),
});

/** `bounces`, from ingress: mail to name-bounces(+verp)@domain. */
export const bounceMailSchema = z.object({
  listId,
  envelopeRecipient: z.string().optional(),
  receivedAt: z.string().optional(),
});

/** `command`: mail to name-request, -join, -leave, -confirm (ingress metadata with the command). */
export const commandMetadataSchema = ingressMetadataSchema.extend({ command: z.string(), token: z.string().optional() });

/** `archive`: an accepted post's archive copy (runners/incoming/handlers/to-archive.ts). */
export const archiveMetadataSchema = z.object({ listId, envelopeSender: z.string().optional(), receivedAt: z.string().optional() }).passthrough();

/** `retry`, `shunt`, `bad`: the entry keeps the metadata of the queue it came from (its control record names that queue). */
const movedMetadataSchema = z.record(z.string(), z.unknown());

export interface QueueSpec {
  readonly name: string;
  /** One line for `queue` help texts and the README. */
  readonly description: string;
  /** Created with the home's spool (the master makes its directory at start), whether or not a runner consumes it. */
  readonly standard: boolean;
  /** What an entry's metadata must be. */
  readonly metadata: z.ZodType;
}

export const QUEUES = {
  [IN_QUEUE]: { name: IN_QUEUE, description: 'posts to a list, from ingress or approved by a moderator: the incoming runner', standard: true, metadata: inMetadataSchema },
  [OUT_QUEUE]: { name: OUT_QUEUE, description: 'messages ready for the smarthost: the outgoing runner', standard: true, metadata: outEntrySchema },
  [BOUNCES_QUEUE]: { name: BOUNCES_QUEUE, description: 'bounce mail and outgoing failures: the bounces runner', standard: true, metadata: z.union([bounceEventSchema, bounceMailSchema]) },
  [VIRGIN_QUEUE]: { name: VIRGIN_QUEUE, description: 'notices and -owner mail: the virgin runner', standard: true, metadata: virginEntrySchema },
  [RETRY_QUEUE]: { name: RETRY_QUEUE, description: 'entries that failed temporarily, until due again: the retry runner', standard: true, metadata: movedMetadataSchema },
  [SHUNT_QUEUE]: { name: SHUNT_QUEUE, description: 'entries that failed for good, with the error, for `queue requeue`', standard: true, metadata: movedMetadataSchema },
  [BAD_QUEUE]: { name: BAD_QUEUE, description: 'queue files that could not be decoded or recovered, set aside with the reason', standard: true, metadata: movedMetadataSchema },
  [ARCHIVE_QUEUE]: { name: ARCHIVE_QUEUE, description: 'archive copies of accepted posts: the archive runner', standard: false, metadata: archiveMetadataSchema },
  [COMMAND_QUEUE]: { name: COMMAND_QUEUE, description: 'mail to name-request, -join, -leave, -confirm (email commands)', standard: false, metadata: commandMetadataSchema },
} as const satisfies Record<string, QueueSpec>;

export type QueueName = keyof typeof QUEUES;


