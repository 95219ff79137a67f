/**
 * `/api/v1/lists/:list/held`: posts held for moderation (moderators and
 * owners): list, show (headers and text, never rendered), approve, reject
 * with a reason, discard: src/app/moderation.ts, as `switchyard held` does.
 */
import { z } from 'zod';
import { decideHeld, DEFAULT_REJECT_REASON, listHeld, showHeld } from '../../app/moderation.js';
import type { ApiToken } from '../../store/index.js';
import { route, type RouteSpec } from '../route.js';
import { heldSchema, heldViewSchema, idParams, listParams, toHeldJson } from '../schemas.js';
import type { ApiDeps } from './deps.js';

const decisionSchema = z.object({
  id: z.number(),
  decision: z.enum(['approve', 'reject', 'discard']),
  decidedBy: z.string(),
  entry: z.string().optional().describe('approve: the `in` entry the post went back on'),
  notice: z.string().optional().describe("reject: what became of the poster's notice"),
});

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
        const notice = result.notice === undefined ? undefined : 'skipped' in result.notice ? `not sent: ${result.notice.skipped}` : `sent to ${result.notice.to}`;
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
  ];
}
