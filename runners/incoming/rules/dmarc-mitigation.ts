/**
 * dmarc-mitigation: looks up the DMARC policy of the post's From domain
 * (src/mail/dmarc-policy.ts, through the `[dns]` resolver) and records in
 * the entry's metadata whether it needs mitigation (incoming/dmarc-verdict.ts).
 * With the list's dmarcMitigateAction `reject` or `discard` such a post is
 * refused here, as Mailman's rule of this name does; with `munge_from` or
 * `wrap_message` the rule passes it on and the pipeline's dmarc handler
 * rewrites it.
 */
import type { Rule } from '../chain.js';
import { dmarcVerdict } from '../dmarc-verdict.js';

/** Mailman's default dmarc_moderation_notice. */
export const DMARC_REJECT_REASON =
  'You are not allowed to post to this mailing list From: a domain which publishes a DMARC policy of reject or quarantine, and your message has been automatically rejected.  If you think that your messages are being rejected in error, contact the mailing list owner.';

export const dmarcMitigation: Rule = {
  name: 'dmarc-mitigation',
  async check(ctx) {
    const mitigate = await dmarcVerdict({ list: ctx.list, message: ctx.message, metadata: ctx.metadata, ...(ctx.resolveTxt === undefined ? {} : { resolveTxt: ctx.resolveTxt }), ...(ctx.log === undefined ? {} : { log: ctx.log }) });
    if (!mitigate) return undefined;
    const action = ctx.list.settings.dmarcMitigateAction;
    if (action === 'reject') return { action: 'reject', reason: DMARC_REJECT_REASON };
    if (action === 'discard') return { action: 'discard', reason: 'the From domain publishes a DMARC policy of reject or quarantine (dmarcMitigateAction discard)' };
    return undefined;
  },
};
