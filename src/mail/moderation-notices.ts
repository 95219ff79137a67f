/**
 * The notices of post moderation, sent through the `virgin` queue by the
 * posting chain (runners/incoming/actions.ts) and by a moderator's decision
 * (src/app/moderation.ts): "a post is waiting for you" to a list's
 * moderators and owners, and "your post was rejected" to its sender. Built with src/mail/notice.ts (Auto-Submitted:
 * auto-generated), from the list's -owner address.
 *
 * Mail loops: a rejection is never sent to the null sender (the post was a
 * bounce or a notification itself), to an address that looks like a robot
 * (MAILER-DAEMON, postmaster, -bounces, -request, noreply, ...), nor for a
 * post that is itself automatic (Auto-Submitted other than "no", RFC 3834;
 * Precedence bulk, junk or list). mayNotify() says which, for the log.
 */
import type { JsonObject } from '../../queues/index.js';
import type { HeldMessage, MailingList } from '../store/index.js';
import { buildNotice } from './notice.js';
import type { RawMessage } from './raw-message.js';

const ROBOT_LOCAL_PART =
  /^(mailer-daemon|postmaster|no[-_.]?reply|do[-_.]?not[-_.]?reply|bounces?|listserv|majordomo|mailman|root|daemon|nobody)$|-(bounces|request|owner|admin|confirm|join|leave)(\+.*)?$|^owner-/i;

export function isRobotAddress(address: string): boolean {
  const at = address.lastIndexOf('@');
  return ROBOT_LOCAL_PART.test(at < 0 ? address : address.slice(0, at));
}

/** Why no automatic reply may go to `recipient` about `message`, or null when one may. */
export function whyNotNotify(message: RawMessage, recipient: string | null, envelopeSender: string | undefined): string | null {
  if (envelopeSender === '') return 'the post came from the null sender <> (a bounce or notification)';
  if (recipient === null) return 'the post has no readable sender address';
  if (isRobotAddress(recipient)) return `the sender ${recipient} looks like an automated address`;
  const autoSubmitted = message.get('Auto-Submitted');
  if (autoSubmitted !== undefined && autoSubmitted.split(';')[0]!.trim().toLowerCase() !== 'no') return `the post is automatic (Auto-Submitted: ${autoSubmitted})`;
  const precedence = message.get('Precedence')?.trim().toLowerCase();
  if (precedence === 'bulk' || precedence === 'junk' || precedence === 'list') return `the post is bulk mail (Precedence: ${precedence})`;
  return null;
}

export function ownerAddress(list: MailingList): string {
  return `${list.name}-owner@${list.domain}`;
}

/** How a held post's notice may be answered by mail (the list's moderateByReply and the post's reply token). */
export interface HoldNoticeReply {
  token: string;
  auth: 'password' | 'moderator-address' | 'either';
}

/** The address a reply to a hold notice goes to: `name-confirm+TOKEN@domain`, like a membership confirmation. */
export function heldReplyAddress(list: MailingList, token: string): string {
  return `${list.name}-confirm+${token}@${list.domain}`;
}

const REPLY_AUTH_TEXT: Record<HoldNoticeReply['auth'], string> = {
  password: "The reply must carry the list's moderator password: an Approved: header, or `Approved: PASSWORD` as its first line.",
  'moderator-address': "The reply must come from an owner's or moderator's address of the list.",
  either: "The reply must carry the list's moderator password (an Approved: header, or `Approved: PASSWORD` as its first line) or come from an owner's or moderator's address.",
};

/**
 * The entry for `virgin` telling the list's moderators and owners about a
 * held post. With `reply`, its Reply-To is the post's
 * name-confirm+TOKEN address: replying with `approve`, `reject REASON` or
 * `discard` as the first line decides it (src/app/moderation-by-reply.ts).
 */
export function holdNotice(list: MailingList, held: HeldMessage, date: Date, reply?: HoldNoticeReply): { message: Buffer; metadata: JsonObject } {
  const byReply =
    reply === undefined
      ? []
      : [
          'Or reply to this message with one of these as the first line of your reply:',
          '    approve',
          '    reject REASON',
          '    discard',
          REPLY_AUTH_TEXT[reply.auth],
          `(Replies go to ${heldReplyAddress(list, reply.token)}.)`,
          '',
        ];
  const text = [
    `A post to ${list.address} is held for moderation.`,
    '',
    `    From:     ${held.sender || '(unknown sender)'}`,
    `    Subject:  ${held.subject || '(no subject)'}`,
    `    Reason:   ${held.reason}`,
    `    Held as:  #${held.id}, ${held.receivedAt.toISOString()}`,
    '',
    'Decide with:',
    `    switchyard held show ${list.address} ${held.id}`,
    `    switchyard held approve ${list.address} ${held.id}`,
    `    switchyard held reject ${list.address} ${held.id} --reason "..."`,
    `    switchyard held discard ${list.address} ${held.id}`,
    '',
    ...byReply,
  ].join('\n');
  const message = buildNotice({
    from: ownerAddress(list),
    to: [ownerAddress(list)],
    subject: `${list.displayName} post from ${held.sender || 'an unknown sender'} requires approval`,
    text,
    listId: list.address,
    date,
    ...(reply === undefined ? {} : { replyTo: heldReplyAddress(list, reply.token) }),
  });
  return { message, metadata: { listId: list.address, toOwners: true, notice: 'held', heldId: held.id } };
}

/**
 * The entry for `virgin` telling the poster of a held post that it awaits
 * the moderators (Mailman's postheld.txt). It carries the held id, like the
 * moderators' notice, so the virgin runner drops it once the post was
 * decided on.
 */
export function postHeldNotice(list: MailingList, held: HeldMessage, date: Date): { message: Buffer; metadata: JsonObject } {
  const text = [
    `Your post to ${list.address} with the subject`,
    '',
    `    ${held.subject || '(no subject)'}`,
    '',
    'is being held until a list moderator can review it for approval.',
    '',
    'It is held because:',
    '',
    `    ${held.reason}`,
    '',
    "Either the post will be sent to the list, or you will be told of the moderator's decision.",
    `Questions go to the list's owners: ${ownerAddress(list)}`,
    '',
  ].join('\n');
  const message = buildNotice({
    from: ownerAddress(list),
    to: [held.sender],
    subject: `Your post to ${list.address} awaits moderator approval`,
    text,
    listId: list.address,
    date,
    ...(held.messageId ? { inReplyTo: held.messageId } : {}),
  });
  return { message, metadata: { listId: list.address, recipients: [held.sender], notice: 'post-held', heldId: held.id } };
}

export interface RejectedPost {
  /** Where the notice goes: the poster. */
  to: string;
  subject: string;
  messageId: string | undefined;
  reason: string;
}

/** The entry for `virgin` telling a poster why the list refused their post. */
export function rejectNotice(list: MailingList, post: RejectedPost, date: Date): { message: Buffer; metadata: JsonObject } {
  const text = [
    `Your message to ${list.address} was rejected and not sent to the list.`,
    '',
    `    Subject:  ${post.subject || '(no subject)'}`,
    `    Reason:   ${post.reason}`,
    '',
    `Questions go to the list's owners: ${ownerAddress(list)}`,
    '',
  ].join('\n');
  const message = buildNotice({
    from: ownerAddress(list),
    to: [post.to],
    subject: `Your message to ${list.address} was rejected`,
    text,
    listId: list.address,
    date,
    ...(post.messageId ? { inReplyTo: post.messageId } : {}),
  });
  return { message, metadata: { listId: list.address, recipients: [post.to], notice: 'rejected' } };
}

/** The entry for `virgin` telling a member whose acknowledgePosts is on that their post went to the list (Mailman's postack.txt). */
export function postAcknowledgement(list: MailingList, post: { to: string; subject: string; messageId: string | undefined }, date: Date): { message: Buffer; metadata: JsonObject } {
  const text = [
    `Your message to ${list.address} with the subject`,
    '',
    `    ${post.subject || '(no subject)'}`,
    '',
    'was accepted and sent to the list.',
    '',
    `(You asked for this acknowledgement; "set ack off" to ${list.name}-request@${list.domain} stops it.)`,
    '',
  ].join('\n');
  const message = buildNotice({
    from: ownerAddress(list),
    to: [post.to],
    subject: `${list.displayName} post acknowledgement`,
    text,
    listId: list.address,
    date,
    ...(post.messageId ? { inReplyTo: post.messageId } : {}),
  });
  return { message, metadata: { listId: list.address, recipients: [post.to], notice: 'post-acknowledgement' } };
}
