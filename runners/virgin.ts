/**
 * The virgin runner: consumes `virgin`, where switchyard puts the messages it
 * writes itself (hold and rejection notices, bounce notices) and mail to a
 * list's -owner address, and delivers them without the posting pipeline.
 *
 * An entry is a complete message with metadata
 *   { listId, recipients?: string[], toOwners?: boolean, sender?: string }:
 * it goes to `recipients`, plus the list's owners and moderators when
 * `toOwners`, from the envelope sender `sender` (default the list's
 * `name-bounces@domain`, so bounces of notices reach the bounce runner).
 * The entry itself is forwarded to `out` (outgoing/out-entry.ts) with that
 * metadata: one rename, so a notice is never queued twice for delivery.
 *
 * No line over RFC 5322's 998 octets leaves here either (a notice quoting a
 * long reason, a forwarded bounce, mail to -owner): such a message is
 * forwarded with those lines folded or re-encoded (src/mail/line-length.ts),
 * the rest byte for byte. The out entry keeps the entry's `notice` kind, so
 * the outgoing runner never writes a notice about a refused notice.
 *
 * `toOwners` for a list with neither owners nor moderators goes to the site
 * owner (`[site] owner`, default postmaster@ the list's domain), with a
 * warning in the log: such a notice used to end in `shunt` with
 * NoRecipientsError, seen only as `FAILED 1` in `switchyard status`.
 *
 * A notice about a held post (metadata `heldId`: the moderators' notice and
 * the poster's "awaits approval") is dropped, with a log line, once that
 * post no longer waits (approved, rejected, discarded, expired, its list
 * removed): still queued behind a slow runner, or requeued from shunt or
 * retry after the decision, it would ask about something already decided.
 *
 * Recipients are deduplicated (case-insensitively) and invalid ones are
 * dropped with a warning. An entry with nobody left to deliver to goes to
 * `shunt` (NoRecipientsError: only invalid recipients given); one naming a
 * list that does not exist while it needs the list (toOwners) goes to
 * `shunt` with ListUnknownError. A busy list store: temporary (to `retry`).
 *
 * Counted (work counter `notices`, src/work-counters.ts): sent on, or
 * dropped as stale.
 *
 * Files: only the entry's own forward (or the base class's moves). Killed
 * before the forward: the `.bak` is recovered and the entry runs again.
 */
import type { DequeuedEntry } from '../queues/index.js';
import { normaliseHeaderLineEndings } from '../src/mail/header-line-endings.js';
import { limitLineLength } from '../src/mail/line-length.js';
import { RawMessage } from '../src/mail/raw-message.js';
import { bouncesAddress } from '../src/mail/verp.js';
import { lookupList } from '../src/app/list-lookup.js';
import { noticeAdmins } from '../src/app/list-admins.js';
import { holdState } from '../src/app/moderation.js';
import { normalAddress } from './incoming/addresses.js';
import { MalformedEntryError, NoRecipientsError, unknownListError } from './incoming/errors.js';
import type { OutEntry } from './outgoing/out-entry.js';
import { OUT_QUEUE, VIRGIN_QUEUE } from './queue-ids.js';
import { outEntryModule, queueSchemas } from './lazy-schemas.js';
import type { EntryContext } from './runner.js';
import { StoreRunner } from './store-runner.js';

export { VIRGIN_QUEUE };

/** What outgoing/out-entry.ts accepts as an address. */
const OUT_ADDRESS = /^[^\s<>@]+@[^\s<>@]+$/;

export default class VirginRunner extends StoreRunner {

  private async owners(listId: string, ctx: EntryContext): Promise<string[]> {
    const { list } = await lookupList(this.store, listId);
    if (list === null) throw unknownListError(listId, VIRGIN_QUEUE);
    const admins = await noticeAdmins(this.store, list, this.options.config?.site.owner);
    if (admins.siteOwner !== null) {
      ctx.log.warn({ list: list.address, siteOwner: admins.siteOwner }, `${list.address} has no owners or moderators: notice sent to the site owner ${admins.siteOwner}`);
    }
    return admins.addresses;
  }

  /** Why a notice about held post `heldId` is stale (the post no longer waits), or null while it waits. */
  private async staleHold(heldId: number): Promise<string | null> {
    const state = await holdState({ store: this.store }, heldId);
    if (state.waiting) return null;
    const { decision } = state;
    return decision === null ? `held post #${heldId} no longer exists` : `held post #${heldId} was decided on: ${decision.decision} by ${decision.decidedBy} at ${decision.decidedAt.toISOString()}`;
  }

  protected async processWithStore(entry: DequeuedEntry, ctx: EntryContext): Promise<void> {
    const { outEntrySchema, virginEntrySchema } = await queueSchemas();
    const { outMetadata } = await outEntryModule();
    const parsed = virginEntrySchema.safeParse(entry.metadata);
    if (!parsed.success) {
      if (typeof entry.metadata.listId !== 'string') throw unknownListError(undefined, VIRGIN_QUEUE);
      throw new MalformedEntryError(VIRGIN_QUEUE, parsed.error.issues.map((issue) => `${issue.path.join('.') || '(metadata)'}: ${issue.message}`));
    }
    const { listId, recipients = [], toOwners = false, sender, heldId } = parsed.data;
    if (heldId !== undefined) {
      const stale = await this.staleHold(heldId);
      if (stale !== null) {
        ctx.log.info({ list: listId, held: heldId, notice: entry.metadata.notice, why: stale }, `stale notice about held post #${heldId} dropped, not sent: ${stale}`);
        this.counters.count('notices', 'stale');
        return;
      }
    }
    const candidates = [...recipients, ...(toOwners ? await this.owners(listId, ctx) : [])];
    const seen = new Set<string>();
    const deliverTo: string[] = [];
    const invalid: string[] = [];
    for (const candidate of candidates) {
      const address = normalAddress(candidate);
      if (address === null || !OUT_ADDRESS.test(address)) {
        invalid.push(candidate);
        continue;
      }
      const key = address.toLowerCase();
      if (seen.has(key)) continue;
      seen.add(key);
      deliverTo.push(address);
    }
    if (invalid.length > 0) ctx.log.warn({ invalid }, 'virgin entry: invalid recipients dropped');
    if (deliverTo.length === 0) {
      throw new NoRecipientsError(listId, toOwners ? 'no valid recipients: the owners, moderators or site owner are invalid addresses' : 'no valid recipients');
    }
    const checked = outEntrySchema.safeParse({ listId, sender: sender ?? bouncesAddress(listId), recipients: deliverTo });
    if (!checked.success) throw new MalformedEntryError(VIRGIN_QUEUE, checked.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`));
    const out: OutEntry = checked.data;
    // Mail to -owner comes from outside as it is: a bare CR or LF in its header must not become a field on the wire.
    const repaired = normaliseHeaderLineEndings(entry.message);
    if (repaired.repaired > 0) ctx.log.warn({ repaired: repaired.repaired }, 'bare CR/LF in the header block made folds or spaces');
    const metadata = outMetadata(out);
    if (typeof entry.metadata.notice === 'string') metadata.notice = entry.metadata.notice;
    const limited = limitLineLength(RawMessage.parse(repaired.message));
    if (limited.problems.length > 0) ctx.log.warn({ problems: limited.problems }, 'virgin message: lines over 998 octets left as they are (a strict smarthost may refuse it)');
    if (limited.changes.length > 0) ctx.log.info({ changes: limited.changes }, 'virgin message: lines over 998 octets re-encoded or folded');
    const message = limited.changes.length > 0 ? limited.message.toBuffer() : repaired.repaired > 0 ? repaired.message : undefined;
    const id = await ctx.forward(OUT_QUEUE, message === undefined ? { metadata } : { message, metadata });
    ctx.log.info({ list: listId, recipients: deliverTo.length, out: id, notice: entry.metadata.notice }, 'virgin message forwarded to out');
    this.counters.count('notices', 'sent');
  }
}
