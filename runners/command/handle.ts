/**
 * One message to a list's -request, -join, -leave or -confirm address:
 * whether to read it at all, its commands (parse.ts) run one by one
 * through the registry (registry.ts), and the reply to the sender through
 * `virgin` (Auto-Submitted: auto-replied) with each command and its result.
 *
 * Not read at all, and never answered (no loops, no backscatter, and no
 * robot confirming a subscription for someone): mail from the null sender,
 * with Auto-Submitted other than `no`, with Precedence bulk, list or junk,
 * from an address that looks automated (MAILER-DAEMON, -bounces, ...),
 * or from one of the list's own addresses.
 *
 * Answered only when the reply says something the sender has not been
 * mailed already (a confirmation or welcome is its own answer) and no
 * per-day limit was hit, and at most `maxAutoResponsesPerDay` a day per
 * address and list (counted in the store as `autoresponse`).
 *
 * Files: the mails go through ctx.enqueue (entries on `virgin`).
 */
import type { Logger } from 'pino';
import { commandReplyNotice } from '../../src/app/membership-notices.js';
import { AUTORESPONSE_KIND, countAutoResponse } from '../../src/app/moderation.js';
import { MEMBERSHIP_NOTICE_QUEUE, type MembershipOptions, type SubscriptionContext } from '../../src/app/subscriptions.js';
import { normaliseHeaderLineEndings } from '../../src/mail/header-line-endings.js';
import { oneLine } from '../../src/mail/header-field.js';
import { RawMessage } from '../../src/mail/raw-message.js';
import type { CommandKind } from '../../src/ingress/routing.js';
import type { MailingList } from '../../src/store/index.js';
import { posterAddress } from '../incoming/addresses.js';
import { isRobotAddress } from '../../src/mail/moderation-notices.js';
import { bodyText } from './body-text.js';
import type { CommandContext, CommandResult } from './email-command.js';
import { parseCommands, type ParsedCommand } from './parse.js';
import { EMAIL_COMMANDS, resolveCommandWord } from './registry.js';

/** The autoresponse counter maxAutoResponsesPerDay limits (per list, address and UTC day), shared with the moderation notices. */
export { AUTORESPONSE_KIND };

export interface CommandMessage {
  list: MailingList;
  message: Buffer;
  /** '' for the null sender; undefined when the entry does not say. */
  envelopeSender?: string;
  /** What the address it came to implies (-join, -leave, -confirm+TOKEN); `request` implies nothing. */
  implied?: CommandKind;
  token?: string;
}

export interface CommandRun {
  command: ParsedCommand;
  result: CommandResult;
}

export type Handled =
  | { outcome: 'ignored'; why: string }
  | { outcome: 'handled'; sender: string; runs: CommandRun[]; reply: 'sent' | 'not-needed' | 'limited'; replyEntry?: string; lines: string[] };

/** Why this message must not be read or answered, or null. */
export function whyIgnore(list: MailingList, message: RawMessage, sender: string | null, envelopeSender: string | undefined): string | null {
  if (envelopeSender === '') return 'from the null sender <> (a bounce or notification)';
  if (sender === null) return 'no readable sender address';
  const autoSubmitted = message.get('Auto-Submitted');
  if (autoSubmitted !== undefined && autoSubmitted.split(';')[0]!.trim().toLowerCase() !== 'no') return `automatic mail (Auto-Submitted: ${oneLine(autoSubmitted).slice(0, 60)})`;
  const precedence = message.get('Precedence')?.trim().toLowerCase();
  if (precedence === 'bulk' || precedence === 'junk' || precedence === 'list') return `bulk mail (Precedence: ${precedence})`;
  const lower = sender.toLowerCase();
  const at = lower.lastIndexOf('@');
  const local = lower.slice(0, at);
  if (lower.slice(at + 1) === list.domain && (local === list.name || local.startsWith(`${list.name}-`))) return `from the list's own address ${sender}`;
  if (isRobotAddress(sender)) return `the sender ${sender} looks automated`;
  return null;
}

function displayNameOf(message: RawMessage): string {
  const from = message.decoded('From');
  if (from === undefined) return '';
  const match = /^\s*"?([^"<]*?)"?\s*</.exec(from);
  return oneLine(match?.[1] ?? '').trim().slice(0, 200);
}

function impliedCommand(input: CommandMessage): ParsedCommand | undefined {
  switch (input.implied) {
    case 'join':
      return { name: 'join', word: 'join', args: [], line: 'join', source: 'address' };
    case 'leave':
      return { name: 'leave', word: 'leave', args: [], line: 'leave', source: 'address' };
    case 'confirm':
      return input.token === undefined ? undefined : { name: 'confirm', word: 'confirm', args: [input.token], line: `confirm ${input.token}`, source: 'address' };
    default:
      return undefined;
  }
}


export async function handleCommandMessage(app: SubscriptionContext, membership: MembershipOptions, input: CommandMessage, log?: Logger): Promise<Handled> {
  const { list } = input;
  const message = RawMessage.parse(normaliseHeaderLineEndings(input.message).message);
  const sender = posterAddress(message, input.envelopeSender);
  const why = whyIgnore(list, message, sender, input.envelopeSender);
  if (why !== null) return { outcome: 'ignored', why };
  // whyIgnore returned null, so there is a sender; a forged From is why confirmations exist.
  const from = sender!;
  // The envelope sender too: a -bounces address in From would have been caught, one in the envelope here.
  if (input.envelopeSender !== undefined && isRobotAddress(input.envelopeSender)) return { outcome: 'ignored', why: `the envelope sender ${input.envelopeSender} looks automated` };

  const subject = oneLine(message.decoded('Subject') ?? '').slice(0, 1000);
  const lines: string[] = [];
  const implied = impliedCommand(input);
  let commands: ParsedCommand[];
  if (implied !== undefined) {
    // -join, -leave and -confirm+TOKEN mean just that: the Subject and body are not read.
    commands = [implied];
  } else {
    const text = bodyText(message);
    const parsed = parseCommands(subject, text.text, resolveCommandWord);
    commands = parsed.commands;
    if (commands.length === 0) lines.push(text.text === null ? `No commands found: ${text.why}.` : 'No commands found in the Subject or at the top of the message.');
    if (parsed.dropped > 0) lines.push(`${parsed.dropped} more command${parsed.dropped === 1 ? '' : 's'} not run: at most ${commands.length} are run from one message.`);
  }

  const ctx: CommandContext = {
    app,
    list,
    sender: from,
    displayName: displayNameOf(message),
    membership,
    message,
    commands: EMAIL_COMMANDS.entries().map((entry) => ({ usage: entry.implementation.usage, description: entry.description })),
  };
  const runs: CommandRun[] = [];
  for (const command of commands) {
    const result = await EMAIL_COMMANDS.get(command.name).run(ctx, command.args);
    runs.push({ command, result });
    log?.info({ list: list.address, sender: from, command: command.name, source: command.source, result: result.lines[0] }, `email command ${command.name}`);
    if (result.stop) break;
  }
  const replyLines = [
    ...runs.flatMap(({ command, result }) => [`> ${oneLine(command.line).slice(0, 200)}`, ...result.lines.map((line) => `    ${line}`), '']),
    ...lines,
  ];
  while (replyLines.at(-1) === '') replyLines.pop();
  const needed = runs.length === 0 || runs.some(({ result }) => !result.mailedSender && !result.rateLimited);
  if (!needed) return { outcome: 'handled', sender: from, runs, reply: 'not-needed', lines: replyLines };
  const limited = await countAutoResponse(app, list, from);
  if (limited !== null) {
    log?.warn({ list: list.address, sender: from, why: limited }, 'command reply not sent: maxAutoResponsesPerDay reached for this address');
    return { outcome: 'handled', sender: from, runs, reply: 'limited', lines: replyLines };
  }
  const messageId = message.get('Message-ID');
  const notice = commandReplyNotice(list, from, { subject, lines: replyLines, ...(messageId === undefined ? {} : { inReplyTo: messageId }) }, app.now());
  const replyEntry = await app.enqueue(MEMBERSHIP_NOTICE_QUEUE, notice.message, notice.metadata);
  return { outcome: 'handled', sender: from, runs, reply: 'sent', replyEntry, lines: replyLines };
}

