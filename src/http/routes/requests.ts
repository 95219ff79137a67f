/**
 * `/api/v1/lists/:list/requests`: membership requests (moderators and
 * owners, as Mailman lets both): list, approve, reject with a reason, as
 * `switchyard requests` does (src/app/subscriptions.ts).
 */
import { z } from 'zod';
import { decideRequest, listRequests, outcomeText } from '../../app/subscriptions.js';
import { route, type RouteSpec } from '../route.js';
import { idParams, listParams, requestSchema, toRequestJson } from '../schemas.js';
import type { ApiDeps } from './deps.js';

const decidedSchema = z.object({ request: requestSchema, decision: z.enum(['approve', 'reject']), outcome: z.string().optional(), notice: z.string().optional() });

export function requestRoutes(deps: ApiDeps): RouteSpec[] {
  const app = deps.app;
  return [
    route({
      method: 'GET',
      url: '/api/v1/lists/:list/requests',
      summary: 'pending membership requests, oldest first (those waiting for a confirmation too)',
      tag: 'requests',
      access: 'moderator',
      params: listParams,
      response: { status: 200, description: 'the requests', schema: z.object({ requests: z.array(requestSchema) }) },
      handler: async ({ params }) => ({ requests: (await listRequests(app, params.list)).map(toRequestJson) }),
    }),
    ...(['approve', 'reject'] as const).map((decision) =>
      route({
        method: 'POST',
        url: `/api/v1/lists/:list/requests/:id/${decision}`,
        summary: decision === 'approve' ? 'carry out a request waiting for the owners' : 'refuse a request waiting for the owners, telling the address why',
        tag: 'requests',
        access: 'moderator',
        params: idParams,
        ...(decision === 'reject' ? { body: z.object({ reason: z.string().min(1).max(2000).optional() }).strict().optional() } : {}),
        response: { status: 200, description: 'the decision', schema: decidedSchema },
        handler: async ({ params, body }) => {
          const reason = (body as { reason?: string } | undefined)?.reason;
          const list = await app.store.getList(params.list);
          const decided = await decideRequest(app, params.list, params.id, decision === 'reject' ? { decision, ...(reason === undefined ? {} : { reason }) } : { decision });
          return {
            request: toRequestJson(decided.request),
            decision,
            ...(decided.outcome === undefined ? {} : { outcome: outcomeText(decided.outcome, list) }),
            ...(decided.notice === undefined ? {} : { notice: decided.notice }),
          };
        },
      }),
    ),
  ];
}
