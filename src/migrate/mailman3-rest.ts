/**
 * Reads a Mailman 3 site through Mailman core's REST API (3.1): every list
 * (or one), its configuration and templates, owners, moderators, members
 * with their preferences, non-members with a moderation action, bans, held
 * posts and pending subscription requests, as an ImportedSite. Read only:
 * nothing is changed in Mailman.
 *
 * Per member the API needs two more requests (its own preferences and the
 * combined ones, which also resolve the user's and the address's); they go
 * CONCURRENCY at a time. A held post's bytes: the API gives only its text
 * (msg.as_string(): LF line endings, long header lines refolded, 8-bit
 * bytes re-encoded or replaced with U+FFFD). With `messagesDir` (the core's
 * var/messages) the exact bytes are read from Mailman's message store
 * instead (mailman3-message-store.ts, found by the Message-ID's hash);
 * without it, or when a stored message cannot be read, the text is imported
 * and the report says which held posts may not be byte-exact.
 */
import { parseAddress, type DeliveryMode, type DeliveryStatus, type ModerationAction, type PendingKind, type Role } from '../store/index.js';
import { ImportSourceError } from './errors.js';
import { mapMailman3Settings } from './mailman3-settings.js';
import { messageIdHash, messageStorePath, readStoredMessage, storedMessageFile } from './mailman3-message-store.js';
import { SwitchyardError } from '../errors.js';
import { importedMember, type ImportedHeld, type ImportedList, type ImportedMember, type ImportedRequest, type ImportedSite, type UnmappedSetting } from './site-model.js';

const CONCURRENCY = 8;
const PAGE = 500;

export interface RestSource {
  /** The API root, e.g. http://127.0.0.1:8001/3.1 */
  url: string;
  user: string;
  password: string;
  /** Only this list (posting address or list id). */
  list?: string;
  /** Mailman's messages directory (var/messages): held posts' exact bytes are read from it. */
  messagesDir?: string;
  /** Called as lists are read: (lists done, lists in all). */
  onProgress?: (done: number, total: number) => void;
}

type Json = Record<string, unknown>;

class RestClient {
  private readonly auth: string;

  constructor(private readonly root: string, user: string, password: string) {
    this.auth = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  }

  async get(path: string): Promise<Json> {
    const url = path.startsWith('http') ? path : `${this.root}${path}`;
    let response: Response;
    try {
      response = await fetch(url, { headers: { authorization: this.auth, accept: 'application/json' } });
    } catch (error) {
      throw new ImportSourceError(`Mailman's REST API at ${this.root} did not answer (${(error as Error).message}); is Mailman core running, and is --rest its API root (http://HOST:8001/3.1)?`, { cause: error, temporary: true });
    }
    const body = await response.text();
    if (response.status === 401) throw new ImportSourceError(`Mailman's REST API refused the credentials (401): pass the [webservice] admin_user and admin_pass of its mailman.cfg`);
    if (!response.ok) throw new ImportSourceError(`Mailman's REST API answered ${response.status} for ${url}: ${body.slice(0, 200)}`);
    try {
      return JSON.parse(body) as Json;
    } catch (error) {
      throw new ImportSourceError(`Mailman's REST API gave no JSON for ${url}`, { cause: error });
    }
  }

  /** Every entry of a paged collection. */
  async all(path: string): Promise<Json[]> {
    const entries: Json[] = [];
    for (let page = 1; ; page++) {
      const separator = path.includes('?') ? '&' : '?';
      const answer = await this.get(`${path}${separator}count=${PAGE}&page=${page}`);
      const got = Array.isArray(answer.entries) ? (answer.entries as Json[]) : [];
      entries.push(...got);
      const total = typeof answer.total_size === 'number' ? answer.total_size : entries.length;
      if (got.length === 0 || entries.length >= total) return entries;
    }
  }
}

/** Run `work` over `items`, at most `limit` at a time, keeping their order. */
async function mapLimited<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

const DELIVERY_MODES: Record<string, DeliveryMode> = { regular: 'regular', mime_digests: 'mime_digests', plaintext_digests: 'plain_digests', summary_digests: 'summary_digests' };
const DELIVERY_STATES: Record<string, DeliveryStatus> = { enabled: 'enabled', by_user: 'by_user', by_bounces: 'by_bounces', by_moderator: 'by_owner', unknown: 'by_owner' };

export function mailmanDeliveryMode(value: unknown): DeliveryMode {
  return DELIVERY_MODES[String(value)] ?? 'regular';
}

export function mailmanDeliveryStatus(value: unknown): DeliveryStatus {
  return DELIVERY_STATES[String(value)] ?? 'enabled';
}

export function mailmanAction(value: unknown): ModerationAction | null {
  if (value === 'defer') return 'accept';
  return value === 'accept' || value === 'hold' || value === 'reject' || value === 'discard' ? value : null;
}

/** Mailman writes naive UTC times (`2026-12-06T06:31:10`); its "never" is year 1. */
export function mailmanDate(value: unknown): Date | null {
  if (typeof value !== 'string' || value === '' || value.startsWith('0001-')) return null;
  const date = new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(value) ? value : `${value.replace(' ', 'T')}Z`);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** Mailman's combined preferences as switchyard member fields; Mailman's system defaults for what is unset. */
export function memberFromMailman(address: string, role: Role, member: Json, preferences: Json): ImportedMember {
  const bool = (key: string, fallback: boolean): boolean => (typeof preferences[key] === 'boolean' ? (preferences[key] as boolean) : fallback);
  return importedMember(address, role, {
    displayName: typeof member.display_name === 'string' ? member.display_name : '',
    deliveryMode: mailmanDeliveryMode(preferences.delivery_mode ?? member.delivery_mode),
    deliveryStatus: mailmanDeliveryStatus(preferences.delivery_status),
    receiveOwnPostings: bool('receive_own_postings', true),
    receiveListCopy: bool('receive_list_copy', true),
    acknowledgePosts: bool('acknowledge_posts', false),
    // Mailman's system preference hides addresses by default.
    hideAddress: bool('hide_address', true),
    preferredLanguage: typeof preferences.preferred_language === 'string' ? preferences.preferred_language : null,
    moderationAction: mailmanAction(member.moderation_action),
    bounceScore: typeof member.bounce_score === 'number' ? member.bounce_score : 0,
    lastBounceAt: mailmanDate(member.last_bounce_received),
    bounceWarningsSent: typeof member.total_warnings_sent === 'number' ? member.total_warnings_sent : 0,
    lastBounceWarningAt: mailmanDate(member.last_warning_sent),
  });
}

/** Mailman's `token_owner` of a subscription request: who it waits for. */
export function requestKind(type: unknown, tokenOwner: unknown): PendingKind | null {
  const leaving = type === 'unsubscription';
  if (type !== 'subscription' && !leaving) return null;
  if (tokenOwner === 'moderator') return leaving ? 'unsubscription_approval' : 'subscription_approval';
  if (tokenOwner === 'subscriber') return leaving ? 'unsubscribe' : 'subscribe';
  return null;
}

async function templatesOf(client: RestClient, listId: string, unmapped: UnmappedSetting[]): Promise<Record<string, string>> {
  const templates: Record<string, string> = {};
  const entries = await client.all(`/lists/${listId}/uris`).catch(() => [] as Json[]);
  for (const entry of entries) {
    const name = typeof entry.name === 'string' ? entry.name : undefined;
    const uri = typeof entry.uri === 'string' ? entry.uri : undefined;
    if (name === undefined || uri === undefined) continue;
    if (!/^https?:\/\//i.test(uri)) {
      unmapped.push({ setting: `template ${name}`, value: uri, note: 'only http(s) template URIs are fetched; copy its text into switchyard by hand' });
      continue;
    }
    try {
      const headers: Record<string, string> = {};
      if (typeof entry.username === 'string' && entry.username !== '') headers.authorization = `Basic ${Buffer.from(`${entry.username}:${String(entry.password ?? '')}`).toString('base64')}`;
      const response = await fetch(uri, { headers });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      templates[name] = await response.text();
    } catch (error) {
      unmapped.push({ setting: `template ${name}`, value: uri, note: `could not be fetched (${(error as Error).message}); copy its text into switchyard by hand` });
    }
  }
  return templates;
}

async function readList(client: RestClient, listId: string, messagesDir: string | undefined): Promise<ImportedList> {
  const config = await client.get(`/lists/${listId}/config`);
  const unmapped: UnmappedSetting[] = [];
  const templates = await templatesOf(client, listId, unmapped);
  const mapped = mapMailman3Settings(config, templates);
  unmapped.push(...mapped.unmapped);
  const address = parseAddress(String(config.fqdn_listname ?? config.posting_address)).address.toLowerCase();

  const roster = await client.all(`/members/find?list_id=${encodeURIComponent(listId)}`);
  const members: ImportedMember[] = [];
  const nonmembers: { address: string; action: ModerationAction }[] = [];
  let silentNonmembers = 0;
  const people = roster.filter((entry) => entry.role === 'member' || entry.role === 'owner' || entry.role === 'moderator');
  for (const entry of roster) {
    if (entry.role !== 'nonmember') continue;
    const nonmemberAction = mailmanAction(entry.moderation_action);
    if (nonmemberAction === null) silentNonmembers++;
    else nonmembers.push({ address: String(entry.email), action: nonmemberAction });
  }
  if (silentNonmembers > 0) unmapped.push({ setting: 'nonmember records', value: String(silentNonmembers), note: "non-members without an action of their own (Mailman records every poster): switchyard keeps no such roster; the list's defaultNonmemberAction applies to them" });
  const records = await mapLimited(people, CONCURRENCY, async (entry) => {
    const self = String(entry.self_link);
    const [own, combined] = await Promise.all([client.get(`${self}/preferences`), client.get(`${self}/all/preferences`)]);
    return memberFromMailman(String(entry.email), entry.role as Role, entry, { ...combined, ...own });
  });
  members.push(...records);

  const bans = (await client.all(`/lists/${listId}/bans`)).map((entry) => String(entry.email));

  const held: ImportedHeld[] = [];
  const asText: string[] = [];
  for (const entry of await client.all(`/lists/${listId}/held`)) {
    const msg = typeof entry.msg === 'string' ? entry.msg : '';
    let raw: Buffer | undefined;
    if (messagesDir !== undefined && typeof entry.message_id === 'string') {
      try {
        raw = await readStoredMessage(storedMessageFile(messagesDir, messageStorePath(messageIdHash(entry.message_id))));
      } catch (error) {
        if (!(error instanceof SwitchyardError)) throw error;
        unmapped.push({ setting: `held post ${String(entry.request_id)}`, value: entry.message_id, note: `its stored message was not read (${error.code}: ${error.message}): imported as the REST API's text, which may not be byte-exact` });
      }
    }
    if (raw === undefined) {
      asText.push(String(entry.request_id));
      if (msg.includes('\ufffd')) unmapped.push({ setting: `held post ${String(entry.request_id)}`, value: String(entry.message_id ?? ''), note: "Mailman's REST API replaced bytes it could not decode with U+FFFD: imported as the API gave it; check it before approving" });
    }
    held.push({
      sender: String(entry.sender ?? ''),
      subject: String(entry.subject ?? ''),
      reason: String(entry.reason ?? ''),
      receivedAt: mailmanDate(entry.hold_date) ?? new Date(0),
      messageId: typeof entry.message_id === 'string' ? entry.message_id : null,
      raw: raw ?? Buffer.from(msg, 'utf8'),
      sourceId: String(entry.request_id),
    });
  }
  if (asText.length > 0) {
    unmapped.push({ setting: 'held posts from the REST text', value: asText.join(', '), note: "Mailman's REST API gives a held post only as text (LF line endings, long header lines refolded, 8-bit bytes re-encoded or replaced): these may not be byte-exact; run again with --messages-dir (the core's var/messages) for the exact bytes" });
  }

  const requests: ImportedRequest[] = [];
  for (const entry of await client.all(`/lists/${listId}/requests`)) {
    const kind = requestKind(entry.type, entry.token_owner);
    if (kind === null) {
      unmapped.push({ setting: 'pending request', value: `${String(entry.type)} ${String(entry.email)} (${String(entry.token_owner)})`, note: 'a request switchyard has no kind for: not imported' });
      continue;
    }
    const createdAt = mailmanDate(entry.when) ?? new Date();
    requests.push({ token: String(entry.token), kind, address: String(entry.email), displayName: typeof entry.display_name === 'string' ? entry.display_name : '', createdAt, expiresAt: new Date(createdAt.getTime() + 3 * 86_400_000) });
  }

  return { address, displayName: mapped.displayName, description: mapped.description, settings: mapped.settings, nonmembers, bans, members, held, requests, unmapped };
}

/** A list named by posting address (`dev@lists.example.org`) or list id (`dev.lists.example.org`): its list id. */
function listIdOf(name: string): string {
  const at = name.indexOf('@');
  return at < 0 ? name.toLowerCase() : `${name.slice(0, at)}.${name.slice(at + 1)}`.toLowerCase();
}

export async function readMailman3Rest(source: RestSource): Promise<ImportedSite> {
  const root = source.url.replace(/\/+$/, '');
  const client = new RestClient(root, source.user, source.password);
  const ids = source.list !== undefined ? [listIdOf(source.list)] : (await client.all('/lists')).map((entry) => String(entry.list_id));
  const lists: ImportedList[] = [];
  source.onProgress?.(0, ids.length);
  for (const id of ids) {
    lists.push(await readList(client, id, source.messagesDir));
    source.onProgress?.(lists.length, ids.length);
  }
  const siteUnmapped: UnmappedSetting[] = [];
  const globalBans = (await client.all('/bans').catch(() => [] as Json[])).map((entry) => String(entry.email));
  if (globalBans.length > 0) siteUnmapped.push({ setting: 'site-wide bans', value: globalBans.join(', '), note: 'put them in [membership] bans of switchyard.toml' });
  return { source: `Mailman 3 REST API ${root}`, lists, siteUnmapped };
}
