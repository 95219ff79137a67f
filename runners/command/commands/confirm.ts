/**
 * `confirm TOKEN`: answer a confirmation (the token is in its Subject and its
 * -confirm+TOKEN address). A token of a held post (the Reply-To of its
 * notice to the moderators) makes the message a moderator's decision by
 * reply (src/app/moderation-by-reply.ts); any other is a membership request's.
 */
import { moderateByReply, moderationReplyText } from '../../../src/app/moderation-by-reply.js';
import { confirmPreferenceChange, type PreferenceConfirmOutcome } from '../../../src/app/preference-confirmation.js';
import { preferenceLines } from '../../../src/app/member-preferences.js';
import { confirmRequest, outcomeText } from '../../../src/app/subscriptions.js';
import { APPROVED_HEADERS } from '../../incoming/rules/approved.js';
import { bodyText } from '../body-text.js';
import type { CommandContext, CommandResult, EmailCommand } from '../email-command.js';
import { mailedSender } from './outcome.js';

export const confirm: EmailCommand = {
  aliases: [],
  usage: 'confirm TOKEN',
  async run(ctx: CommandContext, args: readonly string[]): Promise<CommandResult> {
    const token = args[0];
    if (token === undefined) return { lines: ['confirm needs the token from the confirmation mail: confirm TOKEN'] };
    const approvedHeader = APPROVED_HEADERS.map((name) => ctx.message.get(name)).find((value) => value !== undefined);
    const text = bodyText(ctx.message).text ?? '';
    const moderated = await moderateByReply(ctx.app, ctx.list, token, {
      sender: ctx.sender,
      ...(approvedHeader === undefined ? {} : { approvedHeader }),
      lines: text.split(/\r?\n/),
    });
    if (moderated !== null) return { lines: moderationReplyText(moderated) };
    const preferences = await confirmPreferenceChange(ctx.app, ctx.list.address, token);
    if (preferences !== null) return { lines: preferenceConfirmText(preferences) };
    const outcome = await confirmRequest(ctx.app, ctx.list.address, token, ctx.membership);
    return { lines: [outcomeText(outcome, ctx.list)], mailedSender: mailedSender(ctx, outcome) };
  },
};

function preferenceConfirmText(outcome: PreferenceConfirmOutcome): string[] {
  switch (outcome.status) {
    case 'applied':
      return ['done; your preferences now:', ...preferenceLines(outcome.member).map((line) => `  ${line}`)];
    case 'expired':
      return [`that confirmation of a change to the preferences of ${outcome.address} has lapsed: send the set command again`];
    case 'refused':
      return [outcome.reason];
  }
}
