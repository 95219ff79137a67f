/**
 * What an email command is (one registry entry, one file under commands/):
 * the words that call it, a usage line for `help`, and run(), which acts
 * through the application layer (src/app/) and says what it did.
 */
import type { MembershipOptions, SubscriptionContext } from '../../src/app/subscriptions.js';
import type { RawMessage } from '../../src/mail/raw-message.js';
import type { MailingList } from '../../src/store/index.js';

export interface CommandContext {
  app: SubscriptionContext;
  list: MailingList;
  /** Who sent the command message (its From, else the envelope sender): whom join and leave concern. */
  sender: string;
  /** The sender's display name, for a new membership. */
  displayName: string;
  membership: MembershipOptions;
  /** The command message itself: `confirm` reads a moderator's reply to a hold notice from it. */
  message: RawMessage;
  /** Every command's usage and description, for `help`. */
  commands: readonly { usage: string; description: string }[];
}

export interface CommandResult {
  /** What happened, one line or a few (the reply indents them under the command). */
  lines: string[];
  /** The sender was mailed by the command itself (a confirmation, a welcome): a reply would add nothing. */
  mailedSender?: boolean;
  /** The sender hit a per-day limit: better silence than more mail to a possible victim. */
  rateLimited?: boolean;
  /** Stop here (`end`). */
  stop?: boolean;
}

export interface EmailCommand {
  /** Other words that call it (`subscribe` for `join`). */
  aliases: readonly string[];
  /** For `help`: `join [digest=mime|plain|no]`. */
  usage: string;
  run(ctx: CommandContext, args: readonly string[]): Promise<CommandResult>;
}
