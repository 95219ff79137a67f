/**
 * moderation: the poster's own moderation action if they are on the list
 * (as a member, else as an owner or moderator) and have one, else the list's
 * defaultMemberAction; for anyone else the list's defaultNonmemberAction
 * (default hold). `accept` passes the post on to the content rules (size,
 * administrivia, ...), so an accepted member's post is still checked; the
 * other actions end the chain.
 */
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
    } else {
      action = ctx.list.settings.defaultNonmemberAction;
      reason = ctx.sender === null ? 'post without a readable sender address (From, Sender or envelope)' : 'post from a non-member';
    }
    return action === 'accept' ? undefined : { action, reason };
  },
};
