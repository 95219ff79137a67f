/**
 * Deciding a held post by replying to its notice (as Mailman 2.1 let
 * moderators do, made explicit): the notice's Reply-To is the post's
 * `name-confirm+TOKEN` address (src/mail/moderation-notices.ts), and the
 * first line of the reply that is neither blank nor quoted says what to do:
 *
 *     approve            (also: accept)
 *     reject REASON      (the poster is told REASON; without one the default)
 *     discard
 *
 * A reply without such a line but with the right moderator password
 * approves, as in Mailman 2.1; without either nothing is decided and the
 * sender is told how to answer. Who may decide is the list's
 * moderateByReply: `password` (the default: an Approved:, Approve: or
 * X-Approved: header, or `Approved: PASSWORD` as the first line), an
 * owner's or moderator's From address (`moderator-address`: From can be
 * forged; the token, mailed only to the owners and moderators, is then the
 * only secret), `either`, or `off`.
 *
 * The token is the held post's (Store.heldReplyToken) and is gone once the
 * post is decided on, by mail or by `switchyard held`: a second reply finds
 * no post and the confirm command says nothing waits. A token of another
 * list's post is treated as unknown.
 */
import { HeldMessageUnknownError, verifyModeratorPasswordAsync, type HeldMessage, type MailingList } from '../store/index.js';
import type { AppContext } from './context.js';
import { decideHeld, type HeldDecided } from './moderation.js';

export interface ModerationReply {
  /** Who sent the reply (From, else the envelope sender). */
  sender: string;
  /** The value of the reply's Approved: (Approve:, X-Approved:, X-Approve:) header, if it has one. */
  approvedHeader?: string;
  /** The text of the reply's first text/plain part, as lines. */
  lines: readonly string[];
}

export type ModerationDecisionWord = 'approve' | 'reject' | 'discard';

export type ModerationByReplyOutcome =
  | { kind: 'decided'; held: HeldMessage; decision: ModerationDecisionWord; decided: HeldDecided }
  | { kind: 'refused'; held: HeldMessage; why: string }
  | { kind: 'no-action'; held: HeldMessage };

const PASSWORD_LINE = /^(?:x-)?approved?:\s*(.*)$/i;
const ACTION_LINE = /^(approve|accept|reject|discard)\b[\s:,.-]*(.*)$/i;

/** The first unquoted, non-blank lines of a reply: an optional `Approved: PASSWORD` line, then the action line. */
export function readReply(lines: readonly string[]): { password?: string; action?: { word: ModerationDecisionWord; rest: string } } {
  const meaningful = lines.map((line) => line.trim()).filter((line) => line !== '' && !line.startsWith('>'));
  let index = 0;
  let password: string | undefined;
  const passwordMatch = meaningful[0] === undefined ? null : PASSWORD_LINE.exec(meaningful[0]);
  if (passwordMatch !== null) {
    password = passwordMatch[1]!.trim();
    index = 1;
  }
  const actionMatch = meaningful[index] === undefined ? null : ACTION_LINE.exec(meaningful[index]!);
  if (actionMatch === null) return password === undefined ? {} : { password };
  const verb = actionMatch[1]!.toLowerCase();
  const word: ModerationDecisionWord = verb === 'accept' ? 'approve' : (verb as ModerationDecisionWord);
  return { ...(password === undefined ? {} : { password }), action: { word, rest: actionMatch[2]!.trim() } };
}

async function isListAdmin(ctx: Pick<AppContext, 'store'>, list: MailingList, address: string): Promise<boolean> {
  const key = address.toLowerCase();
  for (const role of ['owner', 'moderator'] as const) {
    const admins = await ctx.store.members(list.address, { role });
    if (admins.some((admin) => admin.address.toLowerCase() === key)) return true;
  }
  return false;
}

/** Why `reply` may not decide posts of `list`, or null when it may (and whether it carried the right password). */
async function authorise(ctx: Pick<AppContext, 'store'>, list: MailingList, reply: ModerationReply, password: string | undefined): Promise<{ why: string | null; passwordOk: boolean }> {
  const mode = list.settings.moderateByReply;
  if (mode === 'off') return { why: `${list.address} does not take decisions by reply (moderateByReply is off); decide with \`switchyard held\``, passwordOk: false };
  const passwordOk = password !== undefined && list.settings.moderatorPassword !== null && (await verifyModeratorPasswordAsync(list.settings, password));
  const addressOk = mode === 'password' ? false : await isListAdmin(ctx, list, reply.sender);
  if (mode === 'moderator-address') return { why: addressOk ? null : `${reply.sender} is not an owner or moderator of ${list.address}`, passwordOk };
  if (passwordOk || addressOk) return { why: null, passwordOk };
  const passwordWhy =
    list.settings.moderatorPassword === null
      ? `${list.address} has no moderator password (\`switchyard lists set ${list.address} moderatorPassword ...\`)`
      : password === undefined
        ? "the reply carries no moderator password (an Approved: header, or `Approved: PASSWORD` as its first line)"
        : 'the moderator password is wrong';
  return { why: mode === 'either' ? `${passwordWhy}, and ${reply.sender} is not an owner or moderator` : passwordWhy, passwordOk };
}

/**
 * Decide the held post whose reply token is `token` as `reply` says, if it
 * may; null when no post of `list` waits under that token (the caller then
 * tries the token as a membership confirmation).
 */
export async function moderateByReply(
  ctx: Pick<AppContext, 'store' | 'now' | 'enqueue'>,
  list: MailingList,
  token: string,
  reply: ModerationReply,
): Promise<ModerationByReplyOutcome | null> {
  const held = await ctx.store.heldByReplyToken(token);
  if (held === null || held.list !== list.address) return null;
  const read = readReply(reply.lines);
  const password = reply.approvedHeader?.trim() ?? read.password;
  const { why, passwordOk } = await authorise(ctx, list, reply, password);
  if (why !== null) return { kind: 'refused', held, why };
  const word = read.action?.word ?? (passwordOk ? 'approve' : undefined);
  if (word === undefined) return { kind: 'no-action', held };
  const by = `${reply.sender} (reply by mail)`;
  try {
    const decided =
      word === 'reject'
        ? await decideHeld(ctx, list.address, held.id, { decision: 'reject', by, ...(read.action!.rest === '' ? {} : { reason: read.action!.rest.slice(0, 500) }) })
        : await decideHeld(ctx, list.address, held.id, { decision: word, by });
    return { kind: 'decided', held, decision: word, decided };
  } catch (error) {
    if (error instanceof HeldMessageUnknownError) return { kind: 'refused', held, why: 'it was decided on meanwhile' };
    throw error;
  }
}

/** What the reply to the moderator says. */
export function moderationReplyText(outcome: ModerationByReplyOutcome): string[] {
  const { held } = outcome;
  const what = `Held post #${held.id} (${JSON.stringify(held.subject || '(no subject)')} from ${held.sender || 'an unknown sender'})`;
  switch (outcome.kind) {
    case 'refused':
      return [`${what} was not decided: ${outcome.why}.`];
    case 'no-action':
      return [`${what} still waits: the first line of your reply must be approve, reject REASON or discard.`];
    case 'decided': {
      if (outcome.decision === 'approve') return [`${what} approved: it goes to the list.`];
      if (outcome.decision === 'discard') return [`${what} discarded.`];
      const notice = outcome.decided.notice;
      const told = notice === undefined || 'skipped' in notice ? `the poster is not told (${notice?.skipped ?? 'no notice'})` : `the poster is told: ${outcome.decided.record.reason ?? ''}`;
      return [`${what} rejected; ${told}.`];
    }
  }
}
