/**
 * The command runner: consumes `command`, where ingress puts mail to a
 * list's -request, -join (-subscribe), -leave (-unsubscribe) and -confirm
 * addresses (src/mail/routing.ts: metadata `command`, and `token` for
 * -confirm+TOKEN), and lets members run their own membership by mail:
 * runners/command/handle.ts reads the commands, runs them through the
 * application layer (src/app/subscriptions.ts) and replies through
 * `virgin`.
 *
 * Bad input has a bounded outcome: the text is read with capped work
 * (command/body-text.ts, command/parse.ts), a message that is not to be
 * answered is logged and finished, an entry naming no list goes to `shunt`
 * (UnknownListError), a busy store to `retry`.
 *
 * Files: entries on `virgin` (confirmations, welcomes, replies) through
 * ctx.enqueue, then the `command` entry finishes. Killed in between: the
 * entry runs again, so its commands run again: a join finds its request
 * waiting and sends its confirmation again (counted against
 * confirmationsPerDay), a confirm already done answers "no request waits",
 * and the reply may go twice.
 */
import type { DequeuedEntry } from '../queues/index.js';
import { lookupList } from '../src/app/list-lookup.js';
import type { CommandKind } from '../src/ingress/routing.js';
import { handleCommandMessage } from './command/handle.js';
import { unknownListError } from './incoming/errors.js';
import { COMMAND_QUEUE } from './queue-ids.js';
import type { EntryContext } from './runner.js';
import { webBaseUrlOf } from '../src/app/web-links.js';
import { StoreRunner } from './store-runner.js';

const KINDS: readonly string[] = ['request', 'join', 'leave', 'confirm'];

export default class CommandRunner extends StoreRunner {
  protected async processWithStore(entry: DequeuedEntry, ctx: EntryContext): Promise<void> {
    const found = await lookupList(this.store, entry.metadata.listId);
    if (found.list === null) throw unknownListError(found.listId, COMMAND_QUEUE);
    const list = found.list;
    const log = ctx.log.child({ list: list.address });
    const { envelopeSender, command, token } = entry.metadata;
    const app = {
      store: this.store,
      now: () => new Date(this.now()),
      enqueue: (queue: string, message: Uint8Array, metadata: Parameters<EntryContext['enqueue']>[2]) => ctx.enqueue(queue, message, metadata),
      log,
      ...(this.options.config === undefined ? {} : webBaseUrlOf(this.options.config.http)),
    };
    const handled = await handleCommandMessage(
      app,
      { siteBans: this.options.config?.membership.bans ?? [] },
      {
        list,
        message: entry.message,
        ...(typeof envelopeSender === 'string' ? { envelopeSender } : {}),
        ...(typeof command === 'string' && KINDS.includes(command) ? { implied: command as CommandKind } : {}),
        ...(typeof token === 'string' ? { token } : {}),
      },
      log,
    );
    if (handled.outcome === 'ignored') {
      log.info({ why: handled.why, envelopeSender }, `command message ignored: ${handled.why}`);
      return;
    }
    log.info({ sender: handled.sender, commands: handled.runs.map((run) => run.command.name), reply: handled.reply, entry: handled.replyEntry }, 'command message handled');
  }
}
