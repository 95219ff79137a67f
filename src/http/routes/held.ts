/**
 * `/api/v1/lists/:list/held`: posts held for moderation (moderators and
 * owners): list, show (headers and text, never rendered), approve, reject
 * with a reason, discard, one post or many (`bulk`): src/app/moderation.ts,
 * as `switchyard held` does.
 */
import { z } from 'zod';
import { decideHeld, decideHeldEach, DEFAULT_REJECT_REASON, listHeld, showHeld, type HeldBulkOutcome, type RejectNoticeOutcome } from '../../app/moderation.js';
import type { ApiToken } from '../../store/index.js';
import { route, type RouteSpec } from '../route.js';
import { heldSchema, heldViewSchema, idParams, listParams, toHeldJson } from '../schemas.js';
import type { ApiDeps } from './deps.js';

const DECISIONS = ['approve', 'reject', 'discard'] as const;

const decisionSchema = z.object({
  id: z.number(),
  decision: z.enum(DECISIONS),
  decidedBy: z.string(),
  entry: z.string().optional().describe('approve: the `in` entry the post went back on'),
  notice: z.string().optional().describe("reject: what became of the poster's notice"),
});

/** Posts one bulk request decides at most (the body limit allows far more ids; each is a store transaction). */
export const MAX_BULK = 1000;

const BULK_OUTCOMES = ['decided', 'not_found', 'already_decided', 'failed'] as const;

const heldIdSchema = z
  .union([z.number().int().positive(), z.string().regex(/^[1-9]\d{0,14}$/).transform(Number)])
  .describe('a held post id from the listing (a number, or its decimal digits as a string)');

const bulkBody = z
  .object({
    ids: z.array(heldIdSchema).min(1).max(MAX_BULK).describe(`the posts, 1-${MAX_BULK}; decided in this order`),
    decision: z.enum(DECISIONS),
    reason: z.string().min(1).max(2000).optional().describe("reject only: told to each poster (default: the list's standard reason)"),
  })
  .strict()
  .refine((body) => body.reason === undefined || body.decision === 'reject', { message: 'only a rejection takes a reason', path: ['reason'] });

const bulkResultSchema = z.object({
  id: z.number(),
  outcome: z.enum(BULK_OUTCOMES).describe('decided now; not_found: no such post held on this list; already_decided: decided before (see decision, decidedBy, decidedAt); failed: see error'),
  entry: z.string().optional().describe('decided, approve: the `in` entry the post went back on'),
  notice: z.string().optional().describe("decided, reject: what became of the poster's notice"),
  decision: z.string().optional().describe('already_decided: what was decided (approve, reject, discard, expire)'),
  decidedBy: z.string().optional().describe('already_decided: by whom'),
  decidedAt: z.string().optional().describe('already_decided: when'),
  error: z.object({ code: z.string(), message: z.string(), temporary: z.boolean() }).optional().describe('not_found and failed: why, with its SY_* code'),
});

function noticeText(notice: RejectNoticeOutcome | undefined): string | undefined {
  return notice === undefined ? undefined : 'skipped' in notice ? `not sent: ${notice.skipped}` : `sent to ${notice.to}`;
}

function bulkResultJson(outcome: HeldBulkOutcome, list: string): z.output<typeof bulkResultSchema> {
  switch (outcome.outcome) {
    case 'decided': {
      const notice = noticeText(outcome.decided.notice);
      return { id: outcome.id, outcome: 'decided', ...(outcome.decided.entry === undefined ? {} : { entry: outcome.decided.entry }), ...(notice === undefined ? {} : { notice }) };
    }
    case 'not_found':
      return { id: outcome.id, outcome: 'not_found', error: { code: 'SY_HELD_UNKNOWN', message: `no post ${outcome.id} is held on ${list}`, temporary: false } };
    case 'already_decided':
      return { id: outcome.id, outcome: 'already_decided', decision: outcome.record.decision, decidedBy: outcome.record.decidedBy, decidedAt: outcome.record.decidedAt.toISOString() };
    case 'failed':
      return { id: outcome.id, outcome: 'failed', error: { code: outcome.code, message: outcome.message, temporary: outcome.temporary } };
  }
}

/** Who decided, for the record: the token's name and id (a person's or a tool's). */
function decidedBy(principal: ApiToken | null): string {
  return principal === null ? 'api' : `api token ${principal.id} (${principal.name})`;
}

export function heldRoutes(deps: ApiDeps): RouteSpec[] {
  const app = deps.app;
  const decide = (decision: 'approve' | 'reject' | 'discard', summary: string): RouteSpec =>
    route({
      method: 'POST',
      url: `/api/v1/lists/:list/held/:id/${decision}`,
      summary,
      tag: 'held',
      access: 'moderator',
      params: idParams,
      ...(decision === 'reject' ? { body: z.object({ reason: z.string().min(1).max(2000).optional() }).strict().optional() } : {}),
      response: { status: 200, description: 'the decision', schema: decisionSchema },
      handler: async ({ params, body, principal }) => {
        const by = decidedBy(principal);
        const reason = (body as { reason?: string } | undefined)?.reason ?? DEFAULT_REJECT_REASON;
        const result = await decideHeld(app, params.list, params.id, decision === 'reject' ? { decision, by, reason } : { decision, by });
        const notice = noticeText(result.notice);
        return { id: params.id, decision, decidedBy: by, ...(result.entry === undefined ? {} : { entry: result.entry }), ...(notice === undefined ? {} : { notice }) };
      },
    });
  return [
    route({
      method: 'GET',
      url: '/api/v1/lists/:list/held',
      summary: 'posts waiting for a moderator, oldest first',
      tag: 'held',
      access: 'moderator',
      params: listParams,
      response: { status: 200, description: 'the held posts', schema: z.object({ held: z.array(heldSchema) }) },
      handler: async ({ params }) => ({ held: (await listHeld(app, params.list)).map(toHeldJson) }),
    }),
    route({
      method: 'GET',
      url: '/api/v1/lists/:list/held/:id',
      summary: 'one held post: its header fields and its text as received',
      tag: 'held',
      access: 'moderator',
      params: idParams,
      response: { status: 200, description: 'the post', schema: heldViewSchema },
      handler: async ({ params }) => {
        const view = await showHeld(app, params.list, params.id);
        return { ...toHeldJson(view.held), headers: view.headers, text: view.body.toString('utf8') };
      },
    }),
    decide('approve', 'approve: the post goes back on `in` through the approved chain'),
    decide('reject', "reject, telling the poster the reason (default: the list's standard one)"),
    decide('discard', 'discard without telling anyone'),
    route({
      method: 'POST',
      url: '/api/v1/lists/:list/held/bulk',
      summary: 'approve, reject or discard many posts, each as its own route does; what became of each (a post decided before or not held here does not stop the others)',
      tag: 'held',
      access: 'moderator',
      params: listParams,
      body: bulkBody,
      response: {
        status: 200,
        description: 'the result of each id, in the order given, and how many had each outcome',
        schema: z.object({ decision: z.enum(DECISIONS), decidedBy: z.string(), results: z.array(bulkResultSchema), counts: z.object({ decided: z.number(), not_found: z.number(), already_decided: z.number(), failed: z.number() }) }),
      },
      handler: async ({ params, body, principal }) => {
        const by = decidedBy(principal);
        const { decision } = body;
        const outcomes = await decideHeldEach(app, params.list, body.ids, decision === 'reject' ? { decision, by, reason: body.reason ?? DEFAULT_REJECT_REASON } : { decision, by });
        const results = outcomes.map((outcome) => bulkResultJson(outcome, params.list));
        const counts: Record<(typeof BULK_OUTCOMES)[number], number> = { decided: 0, not_found: 0, already_decided: 0, failed: 0 };
        for (const result of results) counts[result.outcome]++;
        return { decision, decidedBy: by, results, counts };
      },
    }),
  ];
}
