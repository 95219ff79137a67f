/**
 * The runners and services switchyard ships, by name: what `[runner.NAME]`
 * refers to when it names no module. Each is one file in this directory
 * whose default export is a Runner subclass (a queue runner) or a Service
 * subclass (`kind: 'service'`: no queue, one process).
 */
import { fileURLToPath } from 'node:url';

export interface BuiltinRunner {
  /** Absent: a queue runner. */
  kind?: 'service';
  /** The queue a runner consumes; none for a service. */
  queue?: string;
  module: string;
  description: string;
  /** `[runner.NAME]` values this runner starts with unless the file sets them. */
  defaults?: { concurrency?: number; watchdogTimeout?: string };
}

function here(file: string): string {
  return fileURLToPath(new URL(file, import.meta.url));
}

export const BUILTIN_RUNNERS: Readonly<Record<string, BuiltinRunner>> = {
  retry: { queue: 'retry', module: here('./retry.js'), description: 'returns temporarily failed entries to their queue when due' },
  archive: {
    queue: 'archive',
    module: here('./archive.js'),
    description: "appends each accepted post's archive copy to its list's mbox file (<home>/archives/<list>.mbox); one instance only",
  },
  outgoing: {
    queue: 'out',
    module: here('./outgoing.js'),
    description: 'delivers `out` entries to the smarthost over SMTP ([smtp]), with checkpoints and retry',
    // Delivery waits on the network, not the CPU: several posts at once. A 10,000-member
    // post may legitimately take longer than the 10-minute default without stalling.
    defaults: { concurrency: 4, watchdogTimeout: '30m' },
  },
  lmtp: {
    kind: 'service',
    module: here('./lmtp.js'),
    description: 'service: the LMTP server ([lmtp], 127.0.0.1:8024) the MTA delivers list mail to; writes ingress entries',
  },
  scheduler: {
    kind: 'service',
    module: here('./scheduler.js'),
    description: 'service: the periodic jobs ([cron]): held-post expiry and bounce warnings (once for all hosts on one store), temp cleanup',
  },
  incoming: {
    queue: 'in',
    module: here('./incoming.js'),
    description: 'runs the posting chain on `in` (hold, reject, discard, accept) and the pipeline; accepted posts to `out`',
    // Mostly CPU (parsing in the pool, the pipeline) with store lookups between: a few at once keep the pool busy.
    defaults: { concurrency: 2 },
  },
  bounces: {
    queue: 'bounces',
    module: here('./bounce.js'),
    description: 'classifies mail to name-bounces (VERP, DSN, MTA formats) and failures from outgoing; scores members, disables and notifies',
  },
  command: {
    queue: 'command',
    module: here('./command.js'),
    description: 'email commands to -request, -join, -leave and -confirm: subscriptions with confirmation, help, info, who; replies through `virgin`',
  },
  virgin: {
    queue: 'virgin',
    module: here('./virgin.js'),
    description: 'delivers notices and -owner mail (`virgin`) to their recipients and the list owners, through `out`',
  },
};
