/**
 * The names of the queues in the queue table (runners/queue-names.ts), on
 * their own: `switchyard inject` routes mail to one of them and must not
 * load zod (the table's metadata schemas) to do it, since every message an
 * MTA pipes in pays for each module loaded.
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
