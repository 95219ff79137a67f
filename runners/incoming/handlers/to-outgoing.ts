/**
 * to-outgoing: says where the post goes: the `out` entry metadata
 * (runners/outgoing/out-entry.ts) for the incoming runner to forward with the
 * rewritten message. Recipients: Store.deliveryAddresses, one SQL query
 * that applies the member preferences: role member, delivery enabled,
 * delivery mode regular (digest members get the post in a digest,
 * to-digest), the poster left out if their receiveOwnPostings is off, and
 * members named in the post's To/Cc left out if their receiveListCopy is
 * off. Envelope sender: name-bounces@domain; VERP per the list's `verp`
 * setting, or always with one-click unsubscription (src/app/one-click.ts):
 * then each copy gets its own List-Unsubscribe and List-Unsubscribe-Post
 * (`personalize`, the token filled in and the copy DKIM-signed by the
 * outgoing runner), and the shared ones list-headers wrote are removed here
 * (the archive, which to-archive fed before, keeps the mailto form).
 *
 * The post is marked for the list's digest (ctx.toDigest): the incoming
 * runner adds it, as the pipeline finally left it, before forwarding the
 * entry (src/app/digests.ts).
 *
 * A poster who is a member with acknowledgePosts on gets an acknowledgement
 * through `virgin` (unless whyNotNotify says no automatic mail may go to
 * them). Crash window: killed after it was enqueued and before the entry was
 * forwarded, the entry runs again and the poster is acknowledged twice (a
 * notice, never the post, is what can be duplicated).
 *
 * A member address the out entry cannot carry (the SMTP envelope needs
 * `local@domain` without spaces or angle brackets: a quoted local part with
 * a space) is left out and logged rather than failing the whole post. A list
 * with nobody to deliver to gets no out entry (logged); the post was still
 * archived if to-archive ran before.
 */
import { jsonOnce, type JsonObject } from '../../../queues/index.js';
import { postAcknowledgement, whyNotNotify } from '../../../src/mail/moderation-notices.js';
import { bouncesAddress } from '../../../src/mail/verp.js';
import { oneClickEnabled, oneClickHeaders } from '../../../src/app/one-click.js';
import { VIRGIN_QUEUE } from '../../queue-ids.js';
import { headerAddresses, posterAddress } from '../addresses.js';
import type { PipelineContext } from '../pipeline.js';

/** The fields each copy gets its own of with one-click unsubscription (lower-case keys). */
const PER_COPY_FIELDS = new Set(['list-unsubscribe', 'list-unsubscribe-post']);

/** What the out entry schema accepts as an envelope address. */
const ENVELOPE_ADDRESS = /^[^\s<>@]+@[^\s<>@]+$/;

export async function toOutgoing(ctx: PipelineContext): Promise<void> {
  const list = ctx.list;
  const envelopeSender = typeof ctx.metadata.envelopeSender === 'string' ? ctx.metadata.envelopeSender : undefined;
  const sender = ctx.sender !== undefined ? ctx.sender : posterAddress(ctx.message, envelopeSender);
  const explicitRecipients = ctx.explicitRecipients ?? headerAddresses(ctx.message, 'To', 'Cc');
  await acknowledge(ctx, sender, envelopeSender);
  // Digest members get it in the next digest: the runner adds the post as it finally leaves the pipeline.
  ctx.toDigest = true;
  const addresses = await ctx.store.deliveryAddresses(list.address, { sender, explicitRecipients });
  const { recipients, unusable } = envelopeRecipients(list.address, addresses);
  if (unusable.length > 0) ctx.log.warn({ list: list.address, addresses: unusable.slice(0, 20), count: unusable.length }, 'to-outgoing: member addresses that cannot be an SMTP envelope recipient left out');
  if (recipients.length === 0) {
    ctx.log.info({ list: list.address, unusable: unusable.length }, 'to-outgoing: no member with regular delivery enabled; nothing to send');
    return;
  }
  const metadata: JsonObject = {
    listId: list.address,
    sender: bouncesAddress(list.address),
    recipients,
    listPosting: list.address,
  };
  if (list.settings.verp) metadata.verp = true;
  if (oneClickEnabled(list, ctx.webBaseUrl)) {
    // One copy per recipient: each carries its own link (and its own DKIM signature over it).
    metadata.verp = true;
    metadata.personalize = { headers: oneClickHeaders(list, ctx.webBaseUrl) };
    // DKIM signs the bottom-most instance of a field: the per-copy ones at the top must be the only ones.
    ctx.message = ctx.message.withFields(ctx.message.fields.filter((field) => !PER_COPY_FIELDS.has(field.key)));
  }
  // Kept for delivery-latency figures in the outgoing runner's logs.
  if (typeof ctx.metadata.receivedAt === 'string') metadata.receivedAt = ctx.metadata.receivedAt;
  ctx.outgoing = { metadata };
}

interface EnvelopeRecipients {
  /** The member addresses they were made from. */
  readonly addresses: readonly string[];
  /** Frozen and serialised once (jsonOnce): the out entry's recipients. */
  readonly recipients: string[];
  readonly unusable: readonly string[];
}

/** The last recipients made for each list: posts to a list go to the same members until its membership changes. */
const lastRecipients = new Map<string, EnvelopeRecipients>();
const LAST_RECIPIENTS_LISTS = 1_000;

/**
 * `addresses` split into those an out entry can carry and the rest; the
 * last result for the list again when `addresses` are the same strings in
 * the same order (checked, never assumed: one changed member makes a new
 * one), so a 1,000-member list's addresses are not each checked and
 * serialised again for every post.
 */
function envelopeRecipients(list: string, addresses: readonly string[]): EnvelopeRecipients {
  const last = lastRecipients.get(list);
  if (last !== undefined && sameStrings(last.addresses, addresses)) return last;
  const recipients: string[] = [];
  const unusable: string[] = [];
  for (const address of addresses) {
    if (ENVELOPE_ADDRESS.test(address) && address.length <= 320) recipients.push(address);
    else unusable.push(address);
  }
  const made: EnvelopeRecipients = { addresses: [...addresses], recipients: jsonOnce(recipients), unusable };
  if (lastRecipients.size >= LAST_RECIPIENTS_LISTS) lastRecipients.clear();
  lastRecipients.set(list, made);
  return made;
}

function sameStrings(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

async function acknowledge(ctx: PipelineContext, sender: string | null, envelopeSender: string | undefined): Promise<void> {
  if (sender === null) return;
  const member = await ctx.store.findMember(ctx.list.address, sender, 'member');
  if (member === null || !member.acknowledgePosts) return;
  const why = whyNotNotify(ctx.message, member.address, envelopeSender);
  if (why !== null) {
    ctx.log.info({ sender: member.address, why }, 'to-outgoing: no acknowledgement');
    return;
  }
  const notice = postAcknowledgement(ctx.list, { to: member.address, subject: ctx.message.decoded('Subject') ?? '', messageId: ctx.message.get('Message-ID') }, new Date(ctx.now()));
  await ctx.enqueue(VIRGIN_QUEUE, notice.message, notice.metadata);
}
