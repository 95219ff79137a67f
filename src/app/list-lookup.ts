/**
 * The one lookup of a list named by a queue entry or an address: the
 * incoming, virgin and bounce runners and ingress routing
 * (src/ingress/routing.ts) all ask it, and each turns "unknown" into its own
 * outcome (shunt with ListUnknownError, discard, 550 5.1.1).
 *
 * Unknown means: no name at all, a name that is no valid list address, or
 * no such list. A busy store (and any other store trouble) is not unknown:
 * it is thrown as it is, so callers retry instead of refusing mail.
 */
// errors.js, not index.js: ingress routing (and so `inject`) imports this, and index.js would load the settings schema.
import { StoreError } from '../store/errors.js';
import type { MailingList, Store } from '../store/index.js';

export type ListLookup =
  | { list: MailingList }
  | {
      list: null;
      /** The name asked for; undefined when there was none (not a string). */
      listId: string | undefined;
      /** Why, for the error message: `no list NAME`, or the store's reason the name is invalid. */
      reason: string;
    };

/** Store codes that mean "that name cannot be a list", which is unknown rather than an error. */
const INVALID_NAME_CODES = new Set(['SY_LIST_NAME_INVALID', 'SY_ADDRESS_INVALID']);

export async function lookupList(store: Store, listId: unknown): Promise<ListLookup> {
  const found = await lookup(store, listId, (name) => store.findList(name));
  return 'reason' in found ? found : { list: found.value };
}

export type ListAddressLookup = { address: string } | { address: null; listId: string | undefined; reason: string };

/** lookupList for callers that need only the list's posting address (ingress routing): the settings are not read. */
export async function lookupListAddress(store: Store, listId: unknown): Promise<ListAddressLookup> {
  const found = await lookup(store, listId, (name) => store.findListAddress(name));
  return 'reason' in found ? { address: null, listId: found.listId, reason: found.reason } : { address: found.value };
}

async function lookup<T>(store: Store, listId: unknown, find: (listId: string) => Promise<T | null>): Promise<{ value: T } | { list: null; listId: string | undefined; reason: string }> {
  if (typeof listId !== 'string') return { list: null, listId: undefined, reason: 'no list named' };
  try {
    const value = await find(listId);
    return value === null ? { list: null, listId, reason: `no list ${listId}` } : { value };
  } catch (error) {
    if (error instanceof StoreError && INVALID_NAME_CODES.has(error.code)) return { list: null, listId, reason: error.message };
    throw error;
  }
}
