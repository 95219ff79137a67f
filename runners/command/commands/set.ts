/**
 * `set KEY VALUE` (or `set KEY=VALUE`, several at once), `set show`: the
 * sender's own member preferences (src/app/member-preferences.ts), for the
 * membership of their From address. Keys are the preference names
 * (deliveryMode, receiveOwnPostings, ...) or Mailman's short words (digest,
 * delivery, myposts, nodupes, ack, hide, language).
 */
import { MemberPreferenceError, MemberPreferenceRefusedError, parsePreference, parsePreferenceAssignments, preferenceLines, PREFERENCE_KEYS, setOwnPreferences, type PreferenceChanges } from '../../../src/app/member-preferences.js';
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
    try {
      const updated = await setOwnPreferences(app, list.address, member.address, changes);
      return { lines: ['done; your preferences now:', ...preferenceLines(updated).map((line) => `  ${line}`)] };
    } catch (error) {
      if (error instanceof MemberPreferenceRefusedError) return { lines: [error.message] };
      throw error;
    }
  },
};

function usage(): never {
  throw new MemberPreferenceError('set', 'expected KEY VALUE, or KEY=VALUE pairs');
}
