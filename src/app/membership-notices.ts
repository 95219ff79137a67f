/**
 * The mails membership requests send (src/app/subscriptions.ts): the
 * confirmation to the address being (un)subscribed, the welcome and goodbye
 * messages, the owners' summary of requests waiting for them, the notice of
 * a refused request, and the command runner's reply. Each is built with
 * src/mail/notice.ts (every field through the header writer) and returned
 * as an entry for `virgin`: the message and its metadata.
 *
 * Pure functions: no store, no files.
 */
import type { JsonObject } from '../../queues/index.js';
import { buildNotice } from '../mail/notice.js';
import type { MailingList, PendingRequest } from '../store/index.js';

export interface NoticeEntry {
  message: Buffer;
  metadata: JsonObject;
}

/** `name-SUFFIX@domain` of a list. */
export function listServiceAddress(list: MailingList, suffix: string): string {
  return `${list.name}${suffix}@${list.domain}`;
}

/** The address a confirmation comes from and replies go to: `name-confirm+TOKEN@domain`. */
export function confirmAddress(list: MailingList, token: string): string {
  return `${list.name}-confirm+${token}@${list.domain}`;
}

function howTo(list: MailingList): string[] {
  return [
    `To post to the list, write to:      ${list.address}`,
    `To leave the list, write to:        ${listServiceAddress(list, '-leave')}`,
    `For the email commands, write "help" to ${listServiceAddress(list, '-request')}`,
    `The list's owners are at:           ${listServiceAddress(list, '-owner')}`,
  ];
}

function entry(list: MailingList, to: string, notice: string, message: Buffer): NoticeEntry {
  return { message, metadata: { listId: list.address, recipients: [to], notice } };
}

/**
 * A confirmation mail: `intro` (what was asked), how to confirm (reply, or
 * mail `name-confirm+TOKEN`), and when the request lapses; to `address`
 * alone, from and Reply-To the token's confirm address, Subject `confirm TOKEN`.
 */
function confirmationMail(list: MailingList, request: { token: string; address: string; expiresAt: Date }, intro: readonly string[], notice: string, date: Date, url?: string): NoticeEntry {
  const from = confirmAddress(list, request.token);
  const text = [
    ...intro,
    '',
    ...(url === undefined ? [] : ['To confirm on the web, open this page and press its button:', `  ${url}`, '']),
    `To confirm, reply to this message (keep the Subject line), or send any`,
    `message to ${from}`,
    `(or to ${listServiceAddress(list, '-confirm')} with the Subject "confirm ${request.token}").`,
    '',
    `If you did not ask for this, ignore this message: nothing happens, and the`,
    `request lapses on ${request.expiresAt.toUTCString()}.`,
    '',
    `Questions go to the list's owners: ${listServiceAddress(list, '-owner')}`,
    '',
  ].join('\n');
  const message = buildNotice({ from, replyTo: from, to: [request.address], subject: `confirm ${request.token}`, text, listId: list.address, date });
  return entry(list, request.address, notice, message);
}

/** The confirmation of a subscribe or unsubscribe request, to the address concerned and nobody else. */
export function confirmationNotice(list: MailingList, request: PendingRequest, date: Date, url?: string): NoticeEntry {
  const joining = request.kind === 'subscribe';
  const what = joining ? `subscribe ${request.address} to` : `unsubscribe ${request.address} from`;
  return confirmationMail(list, request, [`Someone, probably you, asked to ${what}`, `the mailing list ${list.address}.`], joining ? 'confirm-subscribe' : 'confirm-unsubscribe', date, url);
}

/**
 * The confirmation of a member's own preference changes asked for by the
 * `set` email command (src/app/preference-confirmation.ts), to the member's
 * address: whoever forged their From learns nothing and changes nothing.
 */
export function preferenceConfirmationNotice(list: MailingList, change: { token: string; address: string; expiresAt: Date }, changeLines: readonly string[], date: Date): NoticeEntry {
  const intro = [`Someone, probably you, asked to change the preferences of ${change.address}`, `on the mailing list ${list.address} to:`, '', ...changeLines.map((line) => `    ${line}`)];
  return confirmationMail(list, change, intro, 'confirm-preferences', date);
}

/** The welcome message of a new member. */
export function welcomeNotice(list: MailingList, address: string, date: Date): NoticeEntry {
  const intro = list.settings.welcomeMessageText !== '' ? list.settings.welcomeMessageText : list.description;
  const text = [
    `Welcome to the ${list.displayName} mailing list (${list.address}).`,
    '',
    ...(intro === '' ? [] : [intro, '']),
    `You are subscribed as ${address}.`,
    '',
    ...howTo(list),
    '',
  ].join('\n');
  const message = buildNotice({ from: listServiceAddress(list, '-request'), to: [address], subject: `Welcome to the "${list.displayName}" mailing list`, text, listId: list.address, date });
  return entry(list, address, 'welcome', message);
}

/** The goodbye message of a member who left. */
export function goodbyeNotice(list: MailingList, address: string, date: Date): NoticeEntry {
  const text = [
    `${address} is no longer subscribed to the ${list.displayName} mailing list (${list.address}).`,
    '',
    `To join again, write to ${listServiceAddress(list, '-join')}`,
    '',
  ].join('\n');
  const message = buildNotice({ from: listServiceAddress(list, '-request'), to: [address], subject: `You have left the "${list.displayName}" mailing list`, text, listId: list.address, date });
  return entry(list, address, 'goodbye', message);
}

/** Tells a requester that an owner refused their request. */
export function requestRefusedNotice(list: MailingList, request: PendingRequest, reason: string, date: Date): NoticeEntry {
  const what = request.kind === 'subscription_approval' ? 'subscribe to' : 'leave';
  const text = [`Your request to ${what} the mailing list ${list.address} was refused by its owners.`, '', `    Reason:   ${reason}`, '', `Questions go to ${listServiceAddress(list, '-owner')}`, ''].join('\n');
  const message = buildNotice({ from: listServiceAddress(list, '-owner'), to: [request.address], subject: `Your request to ${what} ${list.address}`, text, listId: list.address, date });
  return entry(list, request.address, 'request-refused', message);
}

/**
 * One notice to the owners for every request waiting for them: `fresh` are
 * those not yet told about, `waiting` all of them (a flood is one mail).
 */
export function ownersRequestsNotice(list: MailingList, fresh: readonly PendingRequest[], waiting: readonly PendingRequest[], date: Date): NoticeEntry {
  const line = (request: PendingRequest): string =>
    `    #${request.id}  ${request.kind === 'subscription_approval' ? 'join ' : 'leave'}  ${request.address}${request.displayName === '' ? '' : ` (${request.displayName})`}  since ${request.createdAt.toISOString()}`;
  const shown = waiting.slice(0, 50);
  const text = [
    `${fresh.length} new membership request${fresh.length === 1 ? '' : 's'} on ${list.address} wait${fresh.length === 1 ? 's' : ''} for an owner; ${waiting.length} in all:`,
    '',
    ...shown.map(line),
    ...(waiting.length > shown.length ? [`    ... and ${waiting.length - shown.length} more`] : []),
    '',
    'Decide with:',
    `    switchyard requests list ${list.address}`,
    `    switchyard requests approve ${list.address} ID`,
    `    switchyard requests reject ${list.address} ID --reason "..."`,
    `    switchyard requests discard ${list.address} ID`,
    '',
    `Requests not decided within ${list.settings.pendingRequestLifetime} days lapse. At most one such notice per hour.`,
    '',
  ].join('\n');
  const owner = listServiceAddress(list, '-owner');
  const message = buildNotice({ from: owner, to: [owner], subject: `${list.displayName}: ${waiting.length} membership request${waiting.length === 1 ? '' : 's'} waiting`, text, listId: list.address, date });
  return { message, metadata: { listId: list.address, toOwners: true, notice: 'requests-waiting' } };
}

/** The command runner's reply: each command with its result. */
export function commandReplyNotice(
  list: MailingList,
  to: string,
  reply: { subject: string; inReplyTo?: string; lines: readonly string[] },
  date: Date,
): NoticeEntry {
  const text = [
    `The results of your email commands to ${listServiceAddress(list, '-request')}:`,
    '',
    ...reply.lines,
    '',
    `Write "help" to ${listServiceAddress(list, '-request')} for the commands.`,
    '',
  ].join('\n');
  const message = buildNotice({
    from: listServiceAddress(list, '-request'),
    to: [to],
    subject: `The results of your email commands${reply.subject === '' ? '' : `: ${reply.subject.slice(0, 120)}`}`,
    text,
    listId: list.address,
    date,
    autoSubmitted: 'auto-replied',
    ...(reply.inReplyTo === undefined ? {} : { inReplyTo: reply.inReplyTo }),
  });
  return entry(list, to, 'command-reply', message);
}
