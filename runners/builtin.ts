/**
 * The runners switchyard ships, by name: what `[runner.NAME]` refers to when
 * it names no module. Each is one file in this directory whose default
 * export is a Runner subclass.
 */
import { fileURLToPath } from 'node:url';

export interface BuiltinRunner {
  queue: string;
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
  outgoing: {
    queue: 'out',
    module: here('./outgoing.js'),
    description: 'delivers `out` entries to the smarthost over SMTP ([smtp]), with checkpoints and retry',
    // Delivery waits on the network, not the CPU: several posts at once. A 10,000-member
    // post may legitimately take longer than the 10-minute default without stalling.
    defaults: { concurrency: 4, watchdogTimeout: '30m' },
  },
};
