/**
 * Where mail for an address goes: the list it belongs to, the queue it is
 * put on, and the metadata that says what it is. One table for both ways in
 * (runners/lmtp.ts and `switchyard inject`), and the MTA files
 * (src/mta/) are written from the same suffix list, so what the MTA
 * forwards is exactly what is routed here.
 *
 * For a list `name@domain`:
 *
 *     name                   a post                         -> in
 *     name-request           a command message              -> command  { command: 'request' }
 *     name-join / -subscribe                                -> command  { command: 'join' }
 *     name-leave / -unsubscribe                             -> command  { command: 'leave' }
 *     name-confirm[+TOKEN]                                  -> command  { command: 'confirm', token? }
 *     name-bounces[+ANYTHING] (VERP)                        -> bounces
 *     name-owner             to the owners                  -> virgin   { toOwners: true }
 *
 * `-subscribe` and `-unsubscribe` are Mailman's older names of `-join` and
 * `-leave`; Mailman 3 still answers on them, so operators' old aliases keep
 * working. Only `-bounces` and `-confirm` take a `+detail`; anything else
 * (an unknown list, an unknown suffix, a detail elsewhere) is refused with
 * RecipientUnknownError, which ingress answers permanently (550 5.1.1, exit
 * 67). Store errors are passed on as they are: a busy store is temporary.
 */
import { SwitchyardError } from '../errors.js';
import { BOUNCES_QUEUE, COMMAND_QUEUE, IN_QUEUE, VIRGIN_QUEUE } from '../../runners/queue-ids.js';
import { lookupListAddress } from '../app/list-lookup.js';
import { asciiDomain } from '../store/address.js';
import type { Store } from '../store/index.js';

export type IngressQueue = typeof IN_QUEUE | typeof COMMAND_QUEUE | typeof BOUNCES_QUEUE | typeof VIRGIN_QUEUE;
export type CommandKind = 'request' | 'join' | 'leave' | 'confirm';

/** What routing adds to the ingress metadata (listId and the envelope come from the caller). */
export interface RouteMetadata {
  command?: CommandKind;
  token?: string;
  toOwners?: true;
}

export interface Route {
  /** The list's posting address `name@domain` (the store key). */
  listId: string;
  queue: IngressQueue;
  metadata: RouteMetadata;
}

interface SuffixRule {
  queue: IngressQueue;
  metadata: RouteMetadata;
  /** Whether `+detail` is allowed after it. */
  detail: 'none' | 'verp' | 'token';
}

/** Every service address suffix, as the MTA files list them (src/mta/). */
export const SERVICE_SUFFIXES: Readonly<Record<string, SuffixRule>> = {
  '-bounces': { queue: BOUNCES_QUEUE, metadata: {}, detail: 'verp' },
  '-confirm': { queue: COMMAND_QUEUE, metadata: { command: 'confirm' }, detail: 'token' },
  '-join': { queue: COMMAND_QUEUE, metadata: { command: 'join' }, detail: 'none' },
  '-leave': { queue: COMMAND_QUEUE, metadata: { command: 'leave' }, detail: 'none' },
  '-owner': { queue: VIRGIN_QUEUE, metadata: { toOwners: true }, detail: 'none' },
  '-request': { queue: COMMAND_QUEUE, metadata: { command: 'request' }, detail: 'none' },
  '-subscribe': { queue: COMMAND_QUEUE, metadata: { command: 'join' }, detail: 'none' },
  '-unsubscribe': { queue: COMMAND_QUEUE, metadata: { command: 'leave' }, detail: 'none' },
};

/** The local parts the MTA should hand to switchyard for the list `name`: the posting address first. */
export function serviceLocalParts(name: string): string[] {
  return [name, ...Object.keys(SERVICE_SUFFIXES).map((suffix) => `${name}${suffix}`)];
}

/** Permanent: no such list, or no such address of a list. */
export class RecipientUnknownError extends SwitchyardError {
  constructor(readonly recipient: string, readonly reason: string) {
    super('SY_RECIPIENT_UNKNOWN', `${JSON.stringify(recipient)}: ${reason}`);
  }
}

const LIST_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const CONTROL = /[\x00-\x1f\x7f]/;

/** `"local part"@domain` as Postfix's `q` flag quotes it: unquote (and unescape) the local part. */
function unquoteLocal(local: string): string {
  if (!(local.length >= 2 && local.startsWith('"') && local.endsWith('"'))) return local;
  return local.slice(1, -1).replace(/\\(.)/g, '$1');
}

/** Split `local@domain`, strip `<>`, lower-case and IDNA-encode the domain; undefined when unusable. */
function splitRecipient(recipient: string): { local: string; domain: string } | undefined {
  let text = recipient.trim();
  if (text.startsWith('<') && text.endsWith('>')) text = text.slice(1, -1);
  if (text === '' || CONTROL.test(text)) return undefined;
  const at = text.lastIndexOf('@');
  if (at <= 0 || at === text.length - 1) return undefined;
  // Not domainToASCII alone: it would route `list@example.org/x` to `list@example.org`.
  const domain = asciiDomain(text.slice(at + 1));
  if (domain === null) return undefined;
  return { local: unquoteLocal(text.slice(0, at)), domain };
}

/**
 * Route one envelope recipient. Throws RecipientUnknownError for anything
 * that is not an address of an existing list; store errors (a busy store)
 * propagate unchanged.
 */
export async function routeRecipient(store: Store, recipient: string): Promise<Route> {
  const parts = splitRecipient(recipient);
  if (!parts) throw new RecipientUnknownError(recipient, 'not an address');
  const plus = parts.local.indexOf('+');
  const base = (plus < 0 ? parts.local : parts.local.slice(0, plus)).toLowerCase();
  const detail = plus < 0 ? undefined : parts.local.slice(plus + 1);

  // A list name may not end in a service suffix (src/store/address.ts), so the suffix split is unambiguous.
  const suffix = Object.keys(SERVICE_SUFFIXES).find((s) => base.endsWith(s) && base.length > s.length);
  const rule = suffix === undefined ? undefined : SERVICE_SUFFIXES[suffix];
  const name = suffix === undefined ? base : base.slice(0, -suffix.length);
  if (!LIST_NAME.test(name)) throw new RecipientUnknownError(recipient, 'no such list');
  if (detail !== undefined) {
    if (rule === undefined || rule.detail === 'none') throw new RecipientUnknownError(recipient, `no such address (a +detail is taken only by -bounces and -confirm)`);
    if (detail === '') throw new RecipientUnknownError(recipient, 'empty +detail');
  }
  const listId = `${name}@${parts.domain}`;
  const address = await findListAddress(store, recipient, listId);
  if (rule === undefined) return { listId: address, queue: IN_QUEUE, metadata: {} };
  const metadata: RouteMetadata = { ...rule.metadata };
  if (rule.detail === 'token' && detail !== undefined) metadata.token = detail;
  return { listId: address, queue: rule.queue, metadata };
}

/**
 * The list's posting address, or RecipientUnknownError; a name the store
 * finds invalid (a one-label domain) is unknown too. Only the address: the
 * list's settings are the runners' business, and not reading them keeps
 * the settings schema (zod) out of `switchyard inject`.
 */
async function findListAddress(store: Store, recipient: string, listId: string): Promise<string> {
  const found = await lookupListAddress(store, listId);
  if (found.address === null) throw new RecipientUnknownError(recipient, found.reason);
  return found.address;
}

/** Route an operator's `--list LIST`: the posting address of an existing list. */
export async function routeList(store: Store, list: string): Promise<Route> {
  const parts = splitRecipient(list);
  const listId = parts === undefined ? undefined : `${parts.local.toLowerCase()}@${parts.domain}`;
  if (listId === undefined || !LIST_NAME.test(listId.slice(0, listId.lastIndexOf('@')))) throw new RecipientUnknownError(list, 'not a list posting address');
  return { listId: await findListAddress(store, list, listId), queue: IN_QUEUE, metadata: {} };
}
