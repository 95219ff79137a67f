/**
 * `set KEY VALUE` (or `set KEY=VALUE`, several at once), `set show`: the
 * sender's own member preferences (src/app/member-preferences.ts), for the
 * membership of their From address. Keys are the preference names
 * (deliveryMode, receiveOwnPostings, ...) or Mailman's short words (digest,
 * delivery, myposts, nodupes, ack, hide, language).
 *
 * A change is not made at once: the member gets a confirmation at their
 * address and the change is made when they answer it
 * (src/app/preference-confirmation.ts), since the From of a command is
 * whatever its sender wrote. `set show` answers at once: the reply goes to
 * the member's address, not to whoever forged it.
 */
import { changeLines, MemberPreferenceError, parsePreference, parsePreferenceAssignments, preferenceLines, PREFERENCE_KEYS, type PreferenceChanges } from '../../../src/app/member-preferences.js';
import { requestPreferenceChange } from '../../../src/app/preference-confirmation.js';
import type { CommandContext, CommandResult, EmailCommand } from '../email-command.js';

export const set: EmailCommand = {
  aliases: [],
  usage: 'set KEY VALUE | set show',
  async run(ctx: CommandContext, args: readonly string[]): Promise<CommandResult> {
    const { list, app } = ctx;
    const member = await app.store.findMember(list.address, ctx.sender, 'member');
    if (member === null) return { lines: [`${ctx.sender} is not a member of ${list.address}: no preferences to set`] };
    if (args.length === 0 || (args.length === 1 && args[0]!.toLowerCase() === 'show')) {
      return { lines: [`preferences of ${member.address}:`, ...preferenceLines(member).map((line) => `  ${line}`)] };
    }
    let changes: PreferenceChanges;
    try {
      changes = args.every((arg) => arg.includes('=')) ? parsePreferenceAssignments(args) : args.length === 2 ? parsePreference(args[0]!, args[1]!) : usage();
    } catch (error) {
      if (error instanceof MemberPreferenceError) return { lines: [error.message, `usage: ${this.usage}; keys: ${PREFERENCE_KEYS.join(', ')}`] };
      throw error;
    }
    const outcome = await requestPreferenceChange(app, list.address, member, changes);
    switch (outcome.status) {
      case 'confirmation-sent':
        return { lines: [`a confirmation was mailed to ${member.address}; answer it to make this change:`, ...changeLines(changes).map((line) => `  ${line}`)], mailedSender: member.address.toLowerCase() === ctx.sender.toLowerCase() };
      case 'confirmation-limit':
        return { lines: [`no confirmation mailed to ${member.address}: it had as many as the list sends in a day (confirmationsPerDay); try again tomorrow`], rateLimited: true };
      case 'refused':
        return { lines: [outcome.reason] };
    }
  },
};

function usage(): never {
  throw new MemberPreferenceError('set', 'expected KEY VALUE, or KEY=VALUE pairs');
}
