/**
 * `switchyard held ...`: the moderators' side of the posting chain (Mailman's
 * held-message requests). `list` and `show` look; `approve`, `reject` and
 * `discard` decide. The decisions, and what a kill in the middle of one
 * leaves, are src/app/moderation.ts; this file parses and prints.
 *
 * Files: a new entry in `in` (approve) or `virgin` (reject), durable per
 * queues.durability, and the list store.
 */
import { userInfo } from 'node:os';
import { Command, InvalidArgumentError } from 'commander';
import { decideHeld, DEFAULT_REJECT_REASON, listHeld, showHeld, type RejectNoticeOutcome } from '../app/moderation.js';
import type { HeldDecisionRecord, HeldMessage } from '../store/index.js';
import { withApp } from './app-context.js';
import { listArgument, printable, printJson } from './lists-command.js';
import { formatTable } from './table.js';

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
      const held = await withApp(command, (app) => listHeld(app, list));
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
      const { held, raw, headers, body } = await withApp(command, (app) => showHeld(app, list, id));
      if (options.raw) return void process.stdout.write(raw);
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
        ...body.toString('utf8').split(/\r?\n/).slice(0, 20).map(printable),
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
  if (decision === 'reject') command.option('--reason <text>', 'told to the sender', DEFAULT_REJECT_REASON);
  return command.action(async (list: string, id: number, options: { by?: string; json?: boolean; reason?: string }, cmd: Command) => {
    const by = options.by ?? moderatorName();
    const result = await withApp(cmd, (app) =>
      decideHeld(app, list, id, decision === 'reject' ? { decision, by, reason: options.reason ?? DEFAULT_REJECT_REASON } : { decision, by }),
    );
    const notice = result.notice === undefined ? undefined : noticeText(result.notice);
    if (options.json) return printJson({ ...decisionJson(result.record), ...(result.entry ? { entry: result.entry } : {}), ...(notice ? { notice } : {}) });
    const what = decision === 'approve' ? `approved: queued for the list as ${result.entry}` : decision === 'reject' ? `rejected (${notice})` : 'discarded';
    process.stdout.write(`held #${id} on ${list} ${what}\n`);
  });
}

function noticeText(notice: RejectNoticeOutcome): string {
  return 'skipped' in notice ? `no notice: ${notice.skipped}` : `notice to ${notice.to} queued as ${notice.entry}`;
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
