/**
 * to-archive: a copy of the post, as it stands at this point of the pipeline,
 * for the archive runner (runners/archive.ts), when the list's `archive`
 * setting is on. The default pipeline runs it before dmarc and decorate, so
 * the archive holds the post without From munging or footers (as Mailman's).
 *
 * The copy is enqueued durably before the post goes on to `out`; a crash in
 * between runs the entry again and enqueues a second copy, which the archive
 * runner recognises and skips (see its module comment for the bound).
 */
import type { JsonObject } from '../../../queues/index.js';
import type { PipelineContext } from '../pipeline.js';
import { ARCHIVE_QUEUE } from '../../queue-ids.js';


export async function toArchive(ctx: PipelineContext): Promise<void> {
  if (!ctx.list.settings.archive) return;
  const metadata: JsonObject = { listId: ctx.list.address };
  for (const key of ['envelopeSender', 'receivedAt'] as const) {
    const value = ctx.metadata[key];
    if (typeof value === 'string') metadata[key] = value;
  }
  // Beside the rest of the pipeline when the runner allows it (its fsyncs off the path to `out`).
  if (ctx.enqueueBeside !== undefined) ctx.enqueueBeside(ARCHIVE_QUEUE, ctx.message.toBuffer(), metadata);
  else await ctx.enqueue(ARCHIVE_QUEUE, ctx.message.toBuffer(), metadata);
}
