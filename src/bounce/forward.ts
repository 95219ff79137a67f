/**
 * A bounce forwarded to the list's owners and moderators (list setting
 * `forwardUnrecognizedBouncesTo = "administrators"`): a short explanation
 * with the bounce attached, unchanged, as message/rfc822 (Mailman does the
 * same). The forward carries X-Switchyard-Bounce-Forward, and the bounce
 * runner never forwards a message containing that field, nor a bounce about
 * an owner or moderator: an owner address that bounces cannot set off a
 * forwarding loop.
 */
import type MailComposer from 'nodemailer/lib/mail-composer/index.js';
import type { MailingList } from '../store/index.js';
import type { VirginNotice } from './notices.js';

export const FORWARD_MARKER = 'X-Switchyard-Bounce-Forward';

export type ForwardReason = 'unrecognised' | 'non-member';

const EXPLANATIONS: Readonly<Record<ForwardReason, string>> = {
  unrecognised: 'The attached message reached the bounces address of the list, but it was not recognised as a bounce: no detector understood it, so no member was scored.',
  'non-member': 'The attached bounce reached the bounces address of the list, but the addresses it names are not members of the list, so nobody was scored.',
};

// nodemailer's composer, loaded with the first forward: the bounces runner rarely forwards, and it is megabytes.
let composerModule: Promise<{ default: typeof MailComposer }> | undefined;

export async function buildForward(list: MailingList, reason: ForwardReason, bounce: Uint8Array, addresses: readonly string[], date: Date): Promise<VirginNotice> {
  const owner = `${list.name}-owner@${list.domain}`;
  const text = `${EXPLANATIONS[reason]}\n\n${addresses.length > 0 ? `Addresses named: ${addresses.join(', ')}\n\n` : ''}(\`switchyard bounce-scan FILE\` shows what each detector makes of a saved copy.)\n`;
  const { default: Composer } = await (composerModule ??= import('nodemailer/lib/mail-composer/index.js'));
  const composer = new Composer({
    from: { name: list.displayName, address: owner },
    to: owner,
    subject: `Uncaught bounce notification for ${list.address}`,
    date,
    text,
    headers: { 'Auto-Submitted': 'auto-generated', Precedence: 'bulk', [FORWARD_MARKER]: reason },
    attachments: [{ content: Buffer.from(bounce.buffer, bounce.byteOffset, bounce.byteLength), contentType: 'message/rfc822', filename: 'bounce.eml', contentDisposition: 'attachment' }],
  });
  const message = await composer.compile().build();
  return { message, metadata: { listId: list.address, toOwners: true } };
}

/** Whether `raw` is (or quotes, as bounces do) one of our own forwards; field names compared case-insensitively. */
export function isOwnForward(raw: Uint8Array): boolean {
  return Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('latin1').toLowerCase().includes(FORWARD_MARKER.toLowerCase());
}
