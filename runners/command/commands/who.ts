/**
 * `who`: the members' addresses, when the list's memberRosterVisibility
 * allows it by mail (public: anyone; members: a member's From address;
 * moderators: never by mail, since mail proves no identity).
 */
import type { CommandContext, CommandResult, EmailCommand } from '../email-command.js';

/** A reply is a mail: a very large roster is cut here, with the count. */
const MAX_SHOWN = 2000;

export const who: EmailCommand = {
  aliases: [],
  usage: 'who',
  async run(ctx: CommandContext): Promise<CommandResult> {
    const { list, app } = ctx;
    const visibility = list.settings.memberRosterVisibility;
    if (visibility === 'moderators') return { lines: ['the member list of this list is not given out by mail'] };
    if (visibility === 'members' && (await app.store.findMember(list.address, ctx.sender, 'member')) === null) {
      return { lines: [`the member list is given only to members, and ${ctx.sender} is not one`] };
    }
    // Members who chose hideAddress are left out, and not counted: the count would tell they exist.
    const members = (await app.store.members(list.address, { role: 'member' })).filter((member) => !member.hideAddress);
    const shown = members.slice(0, MAX_SHOWN).map((member) => `  ${member.address}`);
    return { lines: [`${members.length} member${members.length === 1 ? '' : 's'} of ${list.address}:`, ...shown, ...(members.length > MAX_SHOWN ? [`  ... and ${members.length - MAX_SHOWN} more`] : [])] };
  },
};
