/**
 * The names of the queues in the queue table (runners/queue-names.ts), on
 * their own: `switchyard inject` routes mail to one of them and must not
 * load zod (the table's metadata schemas) to do it, since every message an
 * MTA pipes in pays for each module loaded. With them, what a Spool of a
 * switchyard home is opened with (SPOOL_OPTIONS), for the same reason
 * (`queue count`, `status`).
 */
import { BAD_QUEUE } from '../queues/switchboard.js';

export const IN_QUEUE = 'in';
export const OUT_QUEUE = 'out';
export const VIRGIN_QUEUE = 'virgin';
export const BOUNCES_QUEUE = 'bounces';
export const COMMAND_QUEUE = 'command';
export const ARCHIVE_QUEUE = 'archive';
export const RETRY_QUEUE = 'retry';
export const SHUNT_QUEUE = 'shunt';
export { BAD_QUEUE };

/**
 * The metadata key whose value is mixed into every entry id's hash (the
 * list's address): queues/ passes it to makeEntryId, so that an entry's id,
 * and with it its slice, depend on its list as they always have.
 */
export const LIST_ID_HASH_KEY = 'listId';

/**
 * The queues a spool has from the start, in this order (`queue count` lists
 * them even when empty): the entries of the queue table marked `standard`
 * (test/runners/queue-names.test.ts keeps the two equal).
 */
export const STANDARD_QUEUES = Object.freeze([IN_QUEUE, OUT_QUEUE, BOUNCES_QUEUE, VIRGIN_QUEUE, RETRY_QUEUE, SHUNT_QUEUE, BAD_QUEUE] as const);

/** What every Spool and Switchboard of a switchyard home is opened with (spread into their options). */
export const SPOOL_OPTIONS = Object.freeze({ standardQueues: STANDARD_QUEUES, hashKeyField: LIST_ID_HASH_KEY, requeueFrom: [BAD_QUEUE, SHUNT_QUEUE] as const, retryQueue: RETRY_QUEUE });
/** The Switchboard part of SPOOL_OPTIONS. */
export const SWITCHBOARD_OPTIONS = Object.freeze({ hashKeyField: LIST_ID_HASH_KEY });
