/**
 * The runners and services switchyard ships, by name: what `[runner.NAME]`
 * refers to when it names no module. Each is one file in this directory
 * whose default export is a Runner subclass (a queue runner) or a Service
 * subclass (`kind: 'service'`: no queue, one process).
 */
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import type { Config } from '../src/config/schema.js';
import { incomingOptionsSchema } from './incoming/options.js';
import { ARCHIVE_QUEUE, BOUNCES_QUEUE, COMMAND_QUEUE, IN_QUEUE, OUT_QUEUE, RETRY_QUEUE, VIRGIN_QUEUE } from './queue-ids.js';

/** The options table of a runner that takes none: any key in it is a typo. */
export const NO_OPTIONS = z.object({}).strict();

export interface BuiltinRunner {
  /** Absent: a queue runner. */
  kind?: 'service';
  /** Whether its own configuration section switches it on (`[http] enabled`); absent: `[runner.NAME] enabled` alone decides. */
  enabledIn?: (config: Config) => boolean;
  /** The queue a runner consumes; none for a service. */
  queue?: string;
  module: string;
  description: string;
  /** `[runner.NAME]` values this runner starts with unless the file sets them. */
  defaults?: { concurrency?: number; watchdogTimeout?: string };
  /**
   * The schema of its `[runner.NAME.options]` table (strict: an unknown key
   * is an error): part of the configuration schema, checked by `config show`
   * and at `start`, and listed with defaults by `config show`.
   */
  options: z.ZodObject;
}

function here(file: string): string {
  return fileURLToPath(new URL(file, import.meta.url));
}

export const BUILTIN_RUNNERS: Readonly<Record<string, BuiltinRunner>> = {
  retry: { queue: RETRY_QUEUE, module: here('./retry.js'), description: 'returns temporarily failed entries to their queue when due', options: NO_OPTIONS },
  archive: {
    queue: ARCHIVE_QUEUE,
    module: here('./archive.js'),
    description: "adds each accepted post's archive copy to its list's archive in the store (one archive per site; any number of instances and hosts)",
    options: NO_OPTIONS,
  },
  outgoing: {
    queue: OUT_QUEUE,
    module: here('./outgoing.js'),
    description: 'delivers `out` entries to the smarthost over SMTP ([smtp]), with checkpoints and retry',
    options: NO_OPTIONS,
    // Delivery waits on the network, not the CPU: several posts at once. A 10,000-member
    // post may legitimately take longer than the 10-minute default without stalling.
    defaults: { concurrency: 4, watchdogTimeout: '30m' },
  },
  lmtp: {
    kind: 'service',
    module: here('./lmtp.js'),
    description: 'service: the LMTP server ([lmtp], 127.0.0.1:8024) the MTA delivers list mail to; writes ingress entries',
    options: NO_OPTIONS,
  },
  scheduler: {
    kind: 'service',
    module: here('./scheduler.js'),
    description: 'service: the periodic jobs ([cron]): held-post expiry and bounce warnings (once for all hosts on one store), temp cleanup',
    options: NO_OPTIONS,
  },
  http: {
    kind: 'service',
    module: here('./http.js'),
    description: 'service: the HTTP server ([http], 127.0.0.1:8025): the REST API under /api/v1, /api/openapi.json and /metrics',
    options: NO_OPTIONS,
    enabledIn: (config) => config.http.enabled,
  },
  incoming: {
    queue: IN_QUEUE,
    module: here('./incoming.js'),
    description: 'runs the posting chain on `in` (hold, reject, discard, accept) and the pipeline; accepted posts to `out`',
    options: incomingOptionsSchema,
    // Mostly CPU (parsing in the pool, the pipeline) with store lookups between: a few at once keep the pool busy.
    defaults: { concurrency: 2 },
  },
  bounces: {
    queue: BOUNCES_QUEUE,
    module: here('./bounce.js'),
    description: 'classifies mail to name-bounces (VERP, DSN, MTA formats) and failures from outgoing; scores members, disables and notifies',
    options: NO_OPTIONS,
  },
  command: {
    queue: COMMAND_QUEUE,
    module: here('./command.js'),
    description: 'email commands to -request, -join, -leave and -confirm: subscriptions with confirmation, help, info, who; replies through `virgin`',
    options: NO_OPTIONS,
  },
  virgin: {
    queue: VIRGIN_QUEUE,
    module: here('./virgin.js'),
    description: 'delivers notices and -owner mail (`virgin`) to their recipients and the list owners, through `out`',
    options: NO_OPTIONS,
  },
};
