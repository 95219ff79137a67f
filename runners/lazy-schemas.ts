/**
 * The queue metadata schemas (queue-names.ts, out-entry.ts), and with them
 * zod, loaded with the first entry that needs one instead of when the runner
 * starts: zod is several megabytes of every process that loads it, and an
 * idle runner validates nothing. A runner names its queues with the
 * constants of queue-ids.ts, which load nothing. Each is loaded once; later
 * calls get the same promise.
 */
type QueueSchemas = typeof import('./queue-names.js');
type OutEntryModule = typeof import('./outgoing/out-entry.js');

let schemas: Promise<QueueSchemas> | undefined;
let outEntry: Promise<OutEntryModule> | undefined;

export function queueSchemas(): Promise<QueueSchemas> {
  return (schemas ??= import('./queue-names.js'));
}

export function outEntryModule(): Promise<OutEntryModule> {
  return (outEntry ??= import('./outgoing/out-entry.js'));
}
