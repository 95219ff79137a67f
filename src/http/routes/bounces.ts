/**
 * `/api/v1/lists/:list/bounces`: per-member bounce scores (moderators and
 * owners), as `switchyard bounces`; re-enabling a member's delivery with the
 * score reset (owners, as in the web admin), as `switchyard members enable`.
 */
import { z } from 'zod';
import { bounceScores } from '../../app/bounces.js';
import { enableMember } from '../../app/membership.js';
import { route, type RouteSpec } from '../route.js';
import { listParams, memberParams, memberSchema, toMemberJson } from '../schemas.js';
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
    route({
      method: 'POST',
      url: '/api/v1/lists/:list/bounces/:address/enable',
      summary: "deliver to a member again (disabled by bounces, by the owner or by the member), its bounce score and reminders reset (as `members enable`)",
      tag: 'bounce scores',
      access: 'owner',
      params: memberParams,
      response: { status: 200, description: 'the member as changed: deliveryStatus enabled, bounceScore 0', schema: memberSchema },
      handler: async ({ params }) => toMemberJson(await enableMember(deps.app, params.list, params.address)),
    }),
  ];
}
