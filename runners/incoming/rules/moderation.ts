/**
 * moderation: the poster's own moderation action if they are on the list
 * (as a member, else as an owner or moderator) and have one, else the list's
 * defaultMemberAction. For anyone else, the first of the list's
 * acceptTheseNonmembers, holdTheseNonmembers, rejectTheseNonmembers and
 * discardTheseNonmembers (Mailman's order) naming their address or matching
 * it with a ^regex (src/app/nonmembers.ts), else defaultNonmemberAction
 * (default hold). `accept` passes the post on to the content rules (size,
 * administrivia, ...), so an accepted post is still checked; the other
 * actions end the chain.
 */
import { nonmemberDecision, NONMEMBER_SETTINGS } from '../../../src/app/nonmembers.js';
import type { Member, ModerationAction } from '../../../src/store/index.js';
import type { ChainContext, Rule } from '../chain.js';

async function findPoster(ctx: ChainContext): Promise<Member | null> {
  if (ctx.sender === null) return null;
  for (const role of ['member', 'owner', 'moderator'] as const) {
    const member = await ctx.store.findMember(ctx.list.address, ctx.sender, role);
    if (member !== null) return member;
  }
  return null;
}

export const moderation: Rule = {
  name: 'moderation',
  async check(ctx) {
    const member = await findPoster(ctx);
    let action: ModerationAction;
    let reason: string;
    if (member !== null) {
      action = member.moderationAction ?? ctx.list.settings.defaultMemberAction;
      const who = member.role === 'member' ? 'member' : member.role;
      reason = member.moderationAction === null ? `post from a ${who} (the list's default member action is ${action})` : `post from a ${who} whose moderation action is ${action}`;
    } else if (ctx.sender === null) {
      action = ctx.list.settings.defaultNonmemberAction;
      reason = 'post without a readable sender address (From, Sender or envelope)';
    } else {
      const listed = nonmemberDecision(ctx.list.settings, ctx.sender);
      action = listed?.action ?? ctx.list.settings.defaultNonmemberAction;
      reason = listed === null ? 'post from a non-member' : `post from a non-member listed in ${NONMEMBER_SETTINGS[listed.action]} (${listed.pattern})`;
    }
    return action === 'accept' ? undefined : { action, reason };
  },
};
