/** `/api/v1/lists/:list/bounces`: per-member bounce scores (moderators and owners), as `switchyard bounces`. */
import { z } from 'zod';
import { bounceScores } from '../../app/bounces.js';
import { route, type RouteSpec } from '../route.js';
import { listParams } from '../schemas.js';
import type { ApiDeps } from './deps.js';

const bounceRowSchema = z.object({
  address: z.string(),
  score: z.number(),
  lastBounceAt: z.string().nullable(),
  lastReason: z.string().nullable(),
  deliveryStatus: z.string(),
  warningsSent: z.number(),
  lastWarningAt: z.string().nullable(),
  state: z.string(),
});

export function bounceRoutes(deps: ApiDeps): RouteSpec[] {
  return [
    route({
      method: 'GET',
      url: '/api/v1/lists/:list/bounces',
      summary: 'members with bounces (score, last bounce and reason, delivery state); ?all=true: every member',
      tag: 'bounce scores',
      access: 'moderator',
      params: listParams,
      query: z.object({ all: z.enum(['true', 'false']).default('false') }).strict(),
      response: { status: 200, description: 'the scores', schema: z.object({ list: z.string(), threshold: z.number(), members: z.array(bounceRowSchema) }) },
      handler: async ({ params, query }) => {
        const scores = await bounceScores(deps.app, params.list, { all: query.all === 'true' });
        return { list: scores.list.address, threshold: scores.threshold, members: scores.members };
      },
    }),
  ];
}
