/**
 * The notices bounce processing sends, as `virgin` entries (the virgin
 * runner delivers them): to a member whose delivery was disabled, the
 * periodic "you are still disabled" warnings, and to the owners on disable
 * and removal. Built with src/mail/notice.ts; from the list's -owner
 * address, so a reply reaches a person.
 */
import { formatMailbox } from '../mail/mailbox.js';
import { buildNotice } from '../mail/notice.js';
import type { MailingList, Member } from '../store/index.js';

/** A `virgin` entry: the message and the metadata the virgin runner reads. */
export interface VirginNotice {
  message: Buffer;
  metadata: { listId: string; recipients?: string[]; toOwners?: boolean };
}

function ownerAddress(list: MailingList): string {
  return `${list.name}-owner@${list.domain}`;
}

/** `Display Name <name-owner@domain>`, the name quoted or encoded as it needs (and made one line). */
function from(list: MailingList): string {
  return formatMailbox({ name: list.displayName, address: ownerAddress(list) });
}

function toMember(list: MailingList, member: Member, subject: string, text: string, date: Date): VirginNotice {
  return {
    message: buildNotice({ from: from(list), to: [member.address], subject, text, listId: list.address, date }),
    metadata: { listId: list.address, recipients: [member.address] },
  };
}

function toOwners(list: MailingList, subject: string, text: string, date: Date): VirginNotice {
  return {
    message: buildNotice({ from: from(list), to: [ownerAddress(list)], subject, text, listId: list.address, date }),
    metadata: { listId: list.address, toOwners: true },
  };
}

export function disabledNotice(list: MailingList, member: Member, date: Date): VirginNotice {
  return toMember(
    list,
    member,
    `Your membership in ${list.address} has been disabled`,
    `Mail from the list ${list.address} to your address ${member.address}
has been bouncing (bounce score ${member.bounceScore}), so delivery to you
has been disabled. You are still a member.

If your address works again, ask the list owners at ${ownerAddress(list)}
to re-enable delivery. Otherwise you will be removed from the list after
${list.settings.bounceYouAreDisabledWarnings} more reminders, one every ${list.settings.bounceYouAreDisabledWarningsInterval} days.
`,
    date,
  );
}

export function warningNotice(list: MailingList, member: Member, warning: number, date: Date): VirginNotice {
  const total = list.settings.bounceYouAreDisabledWarnings;
  return toMember(
    list,
    member,
    `Reminder ${warning} of ${total}: your membership in ${list.address} is disabled`,
    `Delivery of mail from ${list.address} to ${member.address} is still
disabled because of bounces. This is reminder ${warning} of ${total}; after the
last one, and ${list.settings.bounceYouAreDisabledWarningsInterval} more days, you will be removed from the list.

To keep your membership, ask the list owners at ${ownerAddress(list)} to
re-enable delivery.
`,
    date,
  );
}

export function ownerDisabledNotice(list: MailingList, member: Member, date: Date): VirginNotice {
  return toOwners(
    list,
    `${member.address} disabled on ${list.address} (bounces)`,
    `Delivery to ${member.address} on ${list.address} has been disabled: its
bounce score reached ${member.bounceScore} (threshold ${list.settings.bounceScoreThreshold}).

Re-enable it with:  switchyard members enable ${list.address} ${member.address}
`,
    date,
  );
}

export function ownerRemovedNotice(list: MailingList, member: Member, date: Date): VirginNotice {
  return toOwners(
    list,
    `${member.address} removed from ${list.address} (bounces)`,
    `${member.address} has been removed from ${list.address}: delivery had been
disabled by bounces and ${member.bounceWarningsSent} reminders brought no change.
`,
    date,
  );
}
