/** `/api/v1/queues` and `/api/v1/runners`: the master's `status` data, read-only, for site administrators. */
import { z } from 'zod';
import { zeroCounters } from '../../work-counters.js';
import { route, type RouteSpec } from '../route.js';
import type { ApiDeps } from './deps.js';

const runnerSchema = z.object({
  name: z.string(),
  kind: z.enum(['runner', 'service']),
  queue: z.string().nullable(),
  slice: z.number(),
  numSlices: z.number(),
  pid: z.number().nullable(),
  state: z.string(),
  uptime: z.number().nullable(),
  restarts: z.number(),
  processed: z.number(),
  failed: z.number(),
  inFlight: z.number(),
  lastError: z.string().nullable(),
  detail: z.string().nullable(),
});

export function statusRoutes(deps: ApiDeps): RouteSpec[] {
  return [
    route({
      method: 'GET',
      url: '/api/v1/queues',
      summary: 'entries waiting per queue, and queues no runner consumes (`switchyard status`)',
      tag: 'status',
      access: 'admin',
      response: {
        status: 200,
        description: 'the queues',
        schema: z.object({ queues: z.record(z.string(), z.number()), unconsumed: z.array(z.object({ queue: z.string(), waiting: z.number() })) }),
      },
      handler: async () => {
        const status = await deps.masterStatus();
        return { queues: status.queues, unconsumed: status.unconsumed ?? [] };
      },
    }),
    route({
      method: 'GET',
      url: '/api/v1/runners',
      summary: 'every runner and service slot (`switchyard status`): state, restarts, counters, last error',
      tag: 'status',
      access: 'admin',
      response: {
        status: 200,
        description: 'the runners, and the work counters summed over them since the master started (as in `status --json` and /metrics)',
        schema: z.object({
          healthy: z.boolean(),
          problems: z.array(z.string()),
          runners: z.array(runnerSchema),
          counters: z.record(z.string(), z.union([z.number(), z.record(z.string(), z.number())])),
        }),
      },
      handler: async () => {
        const status = await deps.masterStatus();
        return {
          healthy: status.healthy,
          problems: status.problems,
          runners: status.runners.map(({ name, kind, queue, slice, numSlices, pid, state, uptime, restarts, processed, failed, inFlight, lastError, detail }) => ({
            name, kind, queue, slice, numSlices, pid, state, uptime, restarts, processed, failed, inFlight, lastError, detail,
          })),
          // A master older than the counters sends none: every counter at 0 rather than a missing field.
          counters: status.counters ?? zeroCounters(),
        };
      },
    }),
  ];
}
