/**
 * Who may hold one of the LMTP runner's connection slots. Without it, 50
 * idle connections from anyone who can reach the port filled `maxClients`
 * and shut the MTA out for up to `socketTimeout`. The rules:
 *
 * - the MTA's addresses (`lmtp.mtaAddresses`, addresses or CIDR blocks) may
 *   take any of the `maxClients` slots, as many as they like;
 * - every other address gets at most `maxClientsPerAddress` slots, and all of
 *   them together at most `maxClients - reservedClients`: the reserve is the
 *   MTA's alone.
 *
 * A refusal is a 421 (try again later): a real client loses nothing.
 */
import { BlockList, isIP } from 'node:net';

export interface AdmissionLimits {
  maxClients: number;
  maxClientsPerAddress: number;
  reservedClients: number;
  /** Addresses or CIDR blocks (`10.0.0.0/8`, `::1`). */
  mtaAddresses: readonly string[];
}

/** `::ffff:127.0.0.1` is 127.0.0.1: a dual-stack listener reports IPv4 clients that way. */
export function normalizeClientAddress(address: string): string {
  const lower = address.toLowerCase();
  return lower.startsWith('::ffff:') && isIP(lower.slice(7)) === 4 ? lower.slice(7) : lower;
}

/** Parse `lmtp.mtaAddresses` (validated by the config schema: isAddressOrBlock in src/ingress/ingress-schema.ts). */
export function mtaBlockList(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const [address, prefix] = entry.split('/') as [string, string | undefined];
    const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (prefix === undefined) list.addAddress(address, family);
    else list.addSubnet(address, Number(prefix), family);
  }
  return list;
}

export class ConnectionAdmission {
  private readonly mta: BlockList;
  /** Admitted connection id to its normalised address and whether it is the MTA's. */
  private readonly admitted = new Map<string, { address: string; mta: boolean }>();
  private readonly perAddress = new Map<string, number>();
  private others = 0;

  constructor(private readonly limits: AdmissionLimits) {
    this.mta = mtaBlockList(limits.mtaAddresses);
  }

  isMta(address: string): boolean {
    const normalized = normalizeClientAddress(address);
    const family = isIP(normalized);
    return family !== 0 && this.mta.check(normalized, family === 6 ? 'ipv6' : 'ipv4');
  }

  /** Take a slot for connection `id`; the refusal's reason when there is none for this address. */
  admit(id: string, remoteAddress: string): string | undefined {
    const address = normalizeClientAddress(remoteAddress);
    const mta = this.isMta(address);
    const { maxClients, maxClientsPerAddress, reservedClients } = this.limits;
    if (this.admitted.size >= maxClients) return `too many connections (${maxClients}), try again later`;
    if (!mta) {
      if (this.others >= maxClients - reservedClients) return `too many connections from clients other than the MTA (${maxClients - reservedClients}), try again later`;
      const count = this.perAddress.get(address) ?? 0;
      if (count >= maxClientsPerAddress) return `too many connections from ${address} (${maxClientsPerAddress}), try again later`;
      this.perAddress.set(address, count + 1);
      this.others++;
    }
    this.admitted.set(id, { address, mta });
    return undefined;
  }

  /** Connection `id` is gone (admitted or not: only an admitted one held a slot). */
  release(id: string): void {
    const slot = this.admitted.get(id);
    if (slot === undefined) return;
    this.admitted.delete(id);
    if (slot.mta) return;
    this.others--;
    const count = (this.perAddress.get(slot.address) ?? 1) - 1;
    if (count === 0) this.perAddress.delete(slot.address);
    else this.perAddress.set(slot.address, count);
  }

  get size(): number {
    return this.admitted.size;
  }
}
