/**
 * Which queues nothing takes entries from. The ingress writes mail for
 * name-request, -join, -leave and -confirm to `command`, and a disabled
 * runner leaves its queue behind: without a runner for them, entries there
 * only pile up. The master says so in `status` (a problem line, exit 4) and
 * at start, instead of letting the queue grow unnoticed.
 */
import { BAD_QUEUE, COMMAND_QUEUE, SHUNT_QUEUE, STANDARD_QUEUES } from '../../runners/queue-ids.js';
import { BUILTIN_RUNNERS } from '../../runners/builtin.js';
import type { UnconsumedQueue } from './protocol.js';

/** Queues only an operator empties (`queue requeue`, `queue purge`): no runner is meant to consume them. */
export const OPERATOR_QUEUES: ReadonlySet<string> = new Set([SHUNT_QUEUE, BAD_QUEUE]);

/**
 * The queues switchyard itself writes to: the standard ones, the built-in
 * runners' (`archive`), and `command`, which the ingress fills whether or not
 * a runner consumes it. A queue of a site's own (a custom runner forwarding to
 * a queue it collects by hand) is its business, not flagged.
 */
const SWITCHYARD_QUEUES: readonly string[] = [
  ...STANDARD_QUEUES,
  ...Object.values(BUILTIN_RUNNERS).flatMap((runner) => (runner.queue === undefined ? [] : [runner.queue])),
  COMMAND_QUEUE,
];

/**
 * Every queue switchyard writes to that no queue runner consumes and no
 * operator owns, with its waiting count (0 when it does not exist yet).
 */
export function unconsumedQueues(consumers: Iterable<{ kind: string; queue: string | null }>, waiting: Readonly<Record<string, number>>): UnconsumedQueue[] {
  const consumed = new Set<string>();
  for (const runner of consumers) if (runner.kind === 'runner' && runner.queue !== null) consumed.add(runner.queue);
  const names = new Set(SWITCHYARD_QUEUES);
  return [...names]
    .filter((queue) => !consumed.has(queue) && !OPERATOR_QUEUES.has(queue))
    .sort()
    .map((queue) => ({ queue, waiting: waiting[queue] ?? 0 }));
}

/** One problem line for a queue no runner takes from, or undefined when nothing waits in it. */
export function unconsumedProblem(queue: UnconsumedQueue): string | undefined {
  if (queue.waiting === 0) return undefined;
  const entries = `${queue.waiting} entr${queue.waiting === 1 ? 'y' : 'ies'}`;
  return `no runner for queue ${queue.queue}: ${entries} waiting that nothing takes (configure a runner with queue = "${queue.queue}", or move them with \`switchyard queue move\`)`;
}
