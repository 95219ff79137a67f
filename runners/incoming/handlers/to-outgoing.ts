/**
 * to-outgoing: says where the post goes: the `out` entry metadata
 * (runners/outgoing/out-entry.ts) for the incoming runner to forward with the
 * rewritten message. Recipients: the list's members (role member) whose
 * delivery is enabled; envelope sender: name-bounces@domain; VERP per the
 * list's `verp` setting.
 *
 * A member address the out entry cannot carry (the SMTP envelope needs
 * `local@domain` without spaces or angle brackets: a quoted local part with
 * a space) is left out and logged rather than failing the whole post. A list
 * with nobody to deliver to gets no out entry (logged); the post was still
 * archived if to-archive ran before.
 */
import type { JsonObject } from '../../../queues/index.js';
import { bouncesAddress } from '../../../src/mail/verp.js';
import type { PipelineContext } from '../pipeline.js';

/** What the out entry schema accepts as an envelope address. */
const ENVELOPE_ADDRESS = /^[^\s<>@]+@[^\s<>@]+$/;

export async function toOutgoing(ctx: PipelineContext): Promise<void> {
  const list = ctx.list;
  const addresses = await ctx.store.deliveryAddresses(list.address);
  const recipients: string[] = [];
  const unusable: string[] = [];
  for (const address of addresses) {
    if (ENVELOPE_ADDRESS.test(address) && address.length <= 320) recipients.push(address);
    else unusable.push(address);
  }
  if (unusable.length > 0) ctx.log.warn({ list: list.address, addresses: unusable.slice(0, 20), count: unusable.length }, 'to-outgoing: member addresses that cannot be an SMTP envelope recipient left out');
  if (recipients.length === 0) {
    ctx.log.info({ list: list.address, unusable: unusable.length }, 'to-outgoing: no member with delivery enabled; nothing to send');
    return;
  }
  const metadata: JsonObject = {
    listId: list.address,
    sender: bouncesAddress(list.address),
    recipients,
    listPosting: list.address,
  };
  if (list.settings.verp) metadata.verp = true;
  // Kept for delivery-latency figures in the outgoing runner's logs.
  if (typeof ctx.metadata.receivedAt === 'string') metadata.receivedAt = ctx.metadata.receivedAt;
  ctx.outgoing = { metadata };
}
