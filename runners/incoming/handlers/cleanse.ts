/**
 * cleanse: remove header fields that must not reach members (Mailman's
 * cleanse handler): the moderator password (Approved: and its spellings, which
 * the chain has already checked), priority flags senders use to jump queues,
 * and read-receipt requests that would send every member's client back to
 * the poster.
 */
import type { PipelineContext } from '../pipeline.js';

export const CLEANSED_FIELDS = [
  'approved',
  'approve',
  'x-approved',
  'x-approve',
  'urgent',
  'return-receipt-to',
  'disposition-notification-to',
  'x-confirm-reading-to',
  'x-pmrqc',
] as const;

const CLEANSED = new Set<string>(CLEANSED_FIELDS);

export function cleanse(ctx: PipelineContext): void {
  const fields = ctx.message.fields;
  if (!fields.some((field) => CLEANSED.has(field.key))) return;
  ctx.message = ctx.message.withFields(fields.filter((field) => !CLEANSED.has(field.key)));
}
