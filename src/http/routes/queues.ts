/**
 * `/api/v1/queues/:queue/requeue`: entries of `shunt`, `bad` or `retry` back
 * to the queue each came from, as `switchyard queue requeue --queue`
 * (Spool.requeueAll, queues/spool.ts, which names the crash windows: one
 * rewrite-and-rename per entry). Site administrators only. An entry that
 * cannot be requeued (corrupt, no original queue, not in that queue) is
 * answered in `skipped` with its SY_* code and left where it is.
 */
import { z } from 'zod';
import { ENTRY_ID_PATTERN } from '../../../queues/index.js';
import { route, type RouteSpec } from '../route.js';
import type { ApiDeps } from './deps.js';

/** Ids one request names at most (without ids: every entry of the queue). */
export const MAX_REQUEUE_IDS = 10_000;

const requeueBody = z
  .object({
    ids: z
      .array(z.string().regex(ENTRY_ID_PATTERN, 'not an entry id (<seconds>.<microseconds>+<40 hex digits>)'))
      .min(1)
      .max(MAX_REQUEUE_IDS)
      .optional()
      .describe('only these entries (from `queue list` or `GET /api/v1/queues`); absent: every entry of the queue'),
  })
  .strict()
  .optional();

export function queueRoutes(deps: ApiDeps): RouteSpec[] {
  return [
    route({
      method: 'POST',
      url: '/api/v1/queues/:queue/requeue',
      summary: 'send entries of shunt, bad or retry back to the queue each came from, restore count reset (`queue requeue --queue`); from retry at once, not when due',
      tag: 'status',
      access: 'admin',
      params: z.object({ queue: z.string().max(32).describe('shunt, bad or retry (another queue: 422; no such queue: 404)') }),
      body: requeueBody,
      response: {
        status: 200,
        description: 'the entries requeued, and those left where they are with why',
        schema: z.object({
          queue: z.string(),
          requeued: z.array(z.string()),
          moved: z.array(z.object({ id: z.string(), from: z.string(), to: z.string().describe('the queue the entry went back to') })),
          skipped: z.array(z.object({ id: z.string(), code: z.string().describe('SY_QUEUE_NOT_REQUEUEABLE (corrupt, no original queue), SY_QUEUE_ENTRY_UNKNOWN, SY_QUEUE_ENTRY_BUSY, ...'), reason: z.string() })),
        }),
      },
      handler: async ({ params, body }) => {
        const ids = body?.ids;
        const result = await deps.spool.requeueAll({ queues: [params.queue], ...(ids === undefined ? {} : { ids }) });
        return { queue: params.queue, ...result };
      },
    }),
  ];
}
