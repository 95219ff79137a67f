/**
 * `switchyard held ...`: the moderators' side of the posting chain (Mailman's
 * held-message requests). `list` and `show` look; `approve`, `reject` and
 * `discard` decide, and every decision is recorded in the store
 * (Store.decideHeld) as the held message is removed.
 *
 * approve: the post goes back on `in` with metadata `approval: { heldId,
 * token, by, at }`, so the incoming runner sends it through the pipeline
 * (skipping every chain rule but loop: runners/incoming.ts), then the hold
 * is removed. Enqueue first, then remove, for no loss:
 *   killed after the enqueue, before the removal: the post is on its way
 *     and the hold is still listed. Approving it again enqueues it again,
 *     but the incoming runner lets only the first approval's token through
 *     (Store.claimApproval), so it is posted once; the second run removes
 *     the hold.
 * reject: a notice with the reason to the poster (through `virgin`; not for
 * robots or the null sender, as for the chain's rejections), then removal.
 * Killed between: running it again sends the notice again.
 * discard: removal only.
 *
 * Files: a new entry in `in` or `virgin` (durable per queues.durability),
 * and the list store.
 */
import { randomBytes } from 'node:crypto';
import { userInfo } from 'node:os';
import { Command, InvalidArgumentError } from 'commander';
import { Switchboard, type JsonObject } from '../../queues/index.js';
import { rejectNotice, VIRGIN_QUEUE, whyNotNotify } from '../../runners/incoming/notices.js';
import { homePaths } from '../home.js';
import { RawMessage } from '../mail/raw-message.js';
import { HeldMessageUnknownError, type HeldDecisionRecord, type HeldMessage, type Store } from '../store/index.js';
import { CliError } from './exit-codes.js';
import { listArgument, printable, printJson } from './lists-command.js';
import { withStore } from './store-access.js';
import { formatTable } from './table.js';

export const IN_QUEUE = 'in';

export function heldCommand(): Command {
  return new Command('held')
    .description('posts held for moderation: list, show, approve, reject, discard')
    .addCommand(listCommand())
    .addCommand(showCommand())
    .addCommand(decideCommand('approve', 'send the post on through the posting pipeline to the list'))
    .addCommand(decideCommand('reject', "refuse the post and tell its sender why (--reason)"))
    .addCommand(decideCommand('discard', 'drop the post without telling anyone'))
    .addHelpText('after', `
Examples:
  switchyard held list dev@lists.example.org
  switchyard held show dev@lists.example.org 12
  switchyard held show dev@lists.example.org 12 --raw > post.eml
  switchyard held approve dev@lists.example.org 12
  switchyard held reject dev@lists.example.org 12 --reason "off topic"

Held posts older than the list's maxDaysToHold are discarded by the master
(cron.heldExpiry), with a log line each.

Exit codes: 0 ok, 1 error (no such list or held message), 2 bad arguments.`);
}

function idArgument(text: string): number {
  if (!/^\d{1,15}$/.test(text) || Number(text) < 1) throw new InvalidArgumentError('a held message id is a positive number (see `held list`)');
  return Number(text);
}

interface Session {
  store: Store;
  spoolRoot: string;
  durability: 'fsync' | 'none';
}

/** withStore, with the spool the decisions write to. */
function withSession<T>(command: Command, work: (session: Session) => Promise<T>): Promise<T> {
  return withStore(command, (store, { home, config }) => work({ store, spoolRoot: homePaths(home).queues, durability: config.queues.durability }));
}

/** The held message `id`, which must be on `list`. */
async function heldOn(store: Store, list: string, id: number): Promise<HeldMessage> {
  await store.getList(list);
  const held = await store.getHeld(id);
  if (held.list !== list) throw new HeldMessageUnknownError(id);
  return held;
}

function rawOf(held: HeldMessage): Buffer {
  if (held.raw === null) throw new CliError(`held message ${held.id} is kept as ${held.queueRef ?? '?'}, which this switchyard cannot read`);
  return held.raw;
}

function heldJson(held: HeldMessage) {
  return {
    id: held.id,
    list: held.list,
    sender: held.sender,
    subject: held.subject,
    reason: held.reason,
    receivedAt: held.receivedAt.toISOString(),
    messageId: held.messageId,
    size: held.raw?.length ?? null,
  };
}

function listCommand(): Command {
  return new Command('list')
    .description('the posts held on a list, oldest first')
    .argument('<list>', 'posting address', listArgument)
    .option('--json', 'print JSON')
    .action(async (list: string, options: { json?: boolean }, command: Command) => {
      const held = await withSession(command, async ({ store }) => {
        await store.getList(list);
        return store.heldMessages(list);
      });
      if (options.json) return printJson({ list, held: held.map(heldJson) });
      if (held.length === 0) return void process.stdout.write(`no posts held on ${list}\n`);
      process.stdout.write(
        formatTable(
          ['ID', 'RECEIVED', 'SENDER', 'SUBJECT', 'REASON'],
          held.map((h) => [String(h.id), h.receivedAt.toISOString(), printable(h.sender), printable(h.subject.slice(0, 60)), printable(h.reason)]),
          ['right', 'left', 'left', 'left', 'left'],
        ),
      );
    });
}

function showCommand(): Command {
  return new Command('show')
    .description('one held post: why it was held, its header fields and the start of its body')
    .argument('<list>', 'posting address', listArgument)
    .argument('<id>', 'held message id (see `held list`)', idArgument)
    .option('--raw', 'print the exact message bytes instead')
    .option('--json', 'print JSON (headers, metadata and the message as base64)')
    .action(async (list: string, id: number, options: { raw?: boolean; json?: boolean }, command: Command) => {
      const held = await withSession(command, ({ store }) => heldOn(store, list, id));
      const raw = rawOf(held);
      if (options.raw) return void process.stdout.write(raw);
      const message = RawMessage.parse(raw);
      const headers = message.fields.map((field) => {
        const text = field.raw.toString('utf8').replace(/\r?\n([ \t])/g, '$1').replace(/\r?\n$/, '');
        return { name: field.name, value: text.slice(text.indexOf(':') + 1).trim() };
      });
      if (options.json) return printJson({ ...heldJson(held), headers, metadata: held.metadata, message: raw.toString('base64') });
      const lines = [
        `held #${held.id} on ${held.list}`,
        `  sender:    ${printable(held.sender)}`,
        `  subject:   ${printable(held.subject)}`,
        `  reason:    ${printable(held.reason)}`,
        `  received:  ${held.receivedAt.toISOString()}`,
        `  size:      ${raw.length} bytes`,
        '',
        ...headers.map((h) => printable(`${h.name}: ${h.value}`)),
        '',
        ...message.body.toString('utf8').split(/\r?\n/).slice(0, 20).map(printable),
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}

function decideCommand(decision: 'approve' | 'reject' | 'discard', description: string): Command {
  const command = new Command(decision)
    .description(description)
    .argument('<list>', 'posting address', listArgument)
    .argument('<id>', 'held message id (see `held list`)', idArgument)
    .option('--by <name>', 'who decides, for the record (default: your user name)')
    .option('--json', 'print JSON');
  if (decision === 'reject') command.option('--reason <text>', 'told to the sender', 'rejected by the list moderator');
  return command.action(async (list: string, id: number, options: { by?: string; json?: boolean; reason?: string }, cmd: Command) => {
    const by = options.by ?? moderatorName();
    const result = await withSession(cmd, async (session) => {
      const held = await heldOn(session.store, list, id);
      if (decision === 'approve') return approve(session, held, by);
      if (decision === 'reject') return rejectHeld(session, held, by, options.reason ?? 'rejected by the list moderator');
      return { record: await session.store.decideHeld(held.id, { decision: 'discard', decidedBy: by }) } as Decided;
    });
    if (options.json) return printJson({ ...decisionJson(result.record), ...(result.entry ? { entry: result.entry } : {}), ...(result.notice ? { notice: result.notice } : {}) });
    const what = decision === 'approve' ? `approved: queued for the list as ${result.entry}` : decision === 'reject' ? `rejected (${result.notice})` : 'discarded';
    process.stdout.write(`held #${id} on ${list} ${what}\n`);
  });
}

interface Decided {
  record: HeldDecisionRecord;
  /** approve: the `in` entry. */
  entry?: string;
  /** reject: what became of the notice to the sender. */
  notice?: string;
}

function moderatorName(): string {
  try {
    return userInfo().username;
  } catch {
    return 'moderator';
  }
}

function decisionJson(record: HeldDecisionRecord) {
  return { id: record.heldId, list: record.list, decision: record.decision, decidedBy: record.decidedBy, reason: record.reason, decidedAt: record.decidedAt.toISOString() };
}

async function approve(session: Session, held: HeldMessage, by: string): Promise<Decided> {
  const raw = rawOf(held);
  const at = new Date().toISOString();
  const approval = { heldId: held.id, token: randomBytes(16).toString('hex'), by, at };
  const { heldFromEntry: _entry, approval: _previous, ...kept } = held.metadata;
  const metadata = { ...kept, listId: held.list, approval } as JsonObject;
  const inQueue = new Switchboard({ root: session.spoolRoot, name: IN_QUEUE, durability: session.durability });
  const entry = await inQueue.enqueue(raw, metadata);
  const record = await session.store.decideHeld(held.id, { decision: 'approve', decidedBy: by });
  return { record, entry };
}

async function rejectHeld(session: Session, held: HeldMessage, by: string, reason: string): Promise<Decided> {
  const list = await session.store.getList(held.list);
  const message = RawMessage.parse(rawOf(held));
  const envelopeSender = typeof held.metadata.envelopeSender === 'string' ? held.metadata.envelopeSender : undefined;
  const why = whyNotNotify(message, held.sender === '' ? null : held.sender, envelopeSender);
  let notice: string;
  if (why === null) {
    const built = rejectNotice(list, { to: held.sender, subject: held.subject, messageId: held.messageId ?? undefined, reason }, new Date());
    const virgin = new Switchboard({ root: session.spoolRoot, name: VIRGIN_QUEUE, durability: session.durability });
    notice = `notice to ${held.sender} queued as ${await virgin.enqueue(built.message, built.metadata)}`;
  } else {
    notice = `no notice: ${why}`;
  }
  const record = await session.store.decideHeld(held.id, { decision: 'reject', decidedBy: by, reason });
  return { record, notice };
}
