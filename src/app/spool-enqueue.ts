/**
 * An Enqueue (context.ts) onto the queues of a spool directory, for callers
 * that are not runners (the CLI, the scheduler): one Switchboard per queue,
 * made on first use. Runners pass their own `ctx.enqueue` instead.
 *
 * Files: each call writes one new entry in `<root>/<queue>/` (durable per
 * `durability` when it resolves); killed before it resolves, the entry is
 * either complete or not there (queues/switchboard.ts).
 */
import { Switchboard } from '../../queues/index.js';
import { SWITCHBOARD_OPTIONS } from '../../runners/queue-ids.js';
import type { Enqueue } from './context.js';

export function spoolEnqueue(root: string, durability: 'fsync' | 'none'): Enqueue {
  const boards = new Map<string, Switchboard>();
  return (queue, message, metadata) => {
    let board = boards.get(queue);
    if (board === undefined) {
      board = new Switchboard({ root, name: queue, durability, ...SWITCHBOARD_OPTIONS });
      boards.set(queue, board);
    }
    return board.enqueue(message, metadata);
  };
}
