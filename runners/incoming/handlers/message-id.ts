/**
 * message-id: a post without a Message-ID (or with an empty one) gets one in
 * the list's domain, before it is archived and delivered: archives, threads
 * and duplicate detection key on it, and RFC 5322 3.6.4 wants one on every
 * message.
 *
 * The id is derived from the post's bytes and the time ingress accepted it
 * (metadata receivedAt), not drawn at random: an entry run again after a
 * crash gets the same id, so the archive recognises its second copy.
 */
import { createHash } from 'node:crypto';
import type { PipelineContext } from '../pipeline.js';

export function messageId(ctx: PipelineContext): void {
  const existing = ctx.message.get('Message-ID');
  if (existing !== undefined && existing.replace(/[<>\s]/g, '') !== '') return;
  const hash = createHash('sha256').update(ctx.message.toBuffer());
  if (typeof ctx.metadata.receivedAt === 'string') hash.update(ctx.metadata.receivedAt);
  const id = `<switchyard.${hash.digest('hex').slice(0, 32)}@${ctx.list.domain}>`;
  ctx.message = existing === undefined ? ctx.message.append('Message-ID', id) : ctx.message.set('Message-ID', id);
  ctx.log.info({ list: ctx.list.address, messageId: id }, 'message-id: the post had none; one added');
}
