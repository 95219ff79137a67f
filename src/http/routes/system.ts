/** `/api/v1/system`: version and health, public (rate-limited). */
import { z } from 'zod';
import { route, type RouteSpec } from '../route.js';
import type { ApiDeps } from './deps.js';

export function systemRoutes(deps: ApiDeps): RouteSpec[] {
  return [
    route({
      method: 'GET',
      url: '/api/v1/system/version',
      summary: "switchyard's version",
      tag: 'system',
      access: 'public',
      response: { status: 200, description: 'the version', schema: z.object({ version: z.string(), api: z.literal('v1') }) },
      handler: async () => ({ version: deps.version, api: 'v1' as const }),
    }),
    route({
      method: 'GET',
      url: '/api/v1/system/health',
      summary: "whether the master is healthy (as `switchyard status`'s exit code says); 503 when not",
      tag: 'system',
      access: 'public',
      response: { status: 200, description: 'healthy', schema: z.object({ healthy: z.boolean(), problems: z.array(z.string()) }) },
      handler: async ({ reply }) => {
        const status = await deps.masterStatus();
        // The problems name runners and queues, not secrets: a monitor needs them to page someone.
        if (!status.healthy) reply.header('retry-after', '60');
        const body = { healthy: status.healthy, problems: status.problems };
        if (!status.healthy) reply.code(503);
        return body;
      },
    }),
  ];
}
