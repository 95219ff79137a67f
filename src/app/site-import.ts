/**
 * Importing another list server's site (src/migrate/ reads it into an
 * ImportedSite): each list created or brought up to date, its settings,
 * owners, moderators and members with their preferences, non-member
 * actions, bans, held posts and pending requests, through the list and
 * membership use cases and the store.
 *
 * Idempotent: everything is compared with what the store holds and only the
 * difference is written, so a second run of the same import changes
 * nothing (and reports so). `dryRun` computes the same report and writes
 * nothing. Held posts are recognised by Message-ID (else by their bytes)
 * among the list's held posts; a held post a moderator has decided on in
 * switchyard is no longer held, so importing the same source again after
 * that would hold it again: import, then let moderators work.
 *
 * Not one transaction: the list is created with its settings (one), members
 * are added and updated in batches (one each), then held posts and requests
 * one by one. Killed midway, what was written stays and the next run does
 * the rest.
 */
import { createHash } from 'node:crypto';
import { oneLine } from '../mail/header-field.js';
import type { ImportedList, ImportedMember, ImportedSite, UnmappedSetting } from '../migrate/site-model.js';
import type { ListSettings, Member, MemberChanges, Role } from '../store/index.js';
import { parseAddress } from '../store/index.js';
import type { AppContext } from './context.js';
import { createList } from './lists.js';

const BATCH = 2_000;

export interface ListImportReport {
  list: string;
  created: boolean;
  /** Setting (and displayName, description) keys whose value changed. */
  settingsChanged: string[];
  members: { added: number; updated: number; unchanged: number };
  nonmemberPatternsAdded: number;
  bansAdded: number;
  held: { added: number; existing: number };
  requests: { added: number; existing: number };
  /** Source settings not (fully) carried over. */
  unmapped: UnmappedSetting[];
  /** Things refused one by one (an invalid address, a pattern switchyard refuses); the rest went on. */
  problems: string[];
}

export interface SiteImportReport {
  source: string;
  dryRun: boolean;
  lists: ListImportReport[];
  siteUnmapped: UnmappedSetting[];
  /** True when nothing was (or, in a dry run, would be) written. */
  unchanged: boolean;
}

type ImportContext = Pick<AppContext, 'store' | 'events' | 'settingRegistries' | 'siteOwner'>;

export interface SiteImportOptions {
  dryRun?: boolean;
  /** After each list: (lists done, lists in all). */
  onProgress?: (done: number, total: number) => void;
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

const MEMBER_FIELDS = [
  'displayName', 'deliveryMode', 'deliveryStatus', 'receiveOwnPostings', 'receiveListCopy', 'acknowledgePosts', 'hideAddress', 'preferredLanguage',
  'moderationAction', 'bounceScore', 'lastBounceAt', 'bounceWarningsSent', 'lastBounceWarningAt',
] as const satisfies readonly (keyof ImportedMember & keyof MemberChanges)[];

/** What must change for `current` to be `wanted` (empty: nothing). */
export function memberChanges(current: Member, wanted: ImportedMember): MemberChanges {
  const changes: Record<string, unknown> = {};
  for (const field of MEMBER_FIELDS) {
    const have = current[field];
    const want = wanted[field];
    const equal = have instanceof Date || want instanceof Date ? (have as Date | null)?.getTime() === (want as Date | null)?.getTime() : have === want;
    if (!equal) changes[field] = want;
  }
  return changes as MemberChanges;
}

function memberKey(address: string, role: Role): string {
  return `${role} ${parseAddress(address).key}`;
}

function heldKey(messageId: string | null, raw: Buffer): string {
  return messageId !== null && messageId !== '' ? `id ${messageId.trim()}` : `bytes ${createHash('sha256').update(raw).digest('hex')}`;
}

/** The settings an import wants, with its non-member actions and bans merged into what the list has. */
function wantedSettings(imported: ImportedList, current: ListSettings | null): { settings: Partial<ListSettings>; nonmemberPatternsAdded: number; bansAdded: number } {
  const settings: Partial<ListSettings> = { ...imported.settings };
  const keys = { accept: 'acceptTheseNonmembers', hold: 'holdTheseNonmembers', reject: 'rejectTheseNonmembers', discard: 'discardTheseNonmembers' } as const;
  let nonmemberPatternsAdded = 0;
  for (const key of Object.values(keys)) {
    const merged = [...(current?.[key] ?? [])];
    const add = (pattern: string): void => {
      const normal = pattern.startsWith('^') ? pattern : pattern.toLowerCase();
      if (merged.some((have) => (have.startsWith('^') ? have === normal : have.toLowerCase() === normal))) return;
      merged.push(normal);
      nonmemberPatternsAdded++;
    };
    for (const pattern of imported.settings[key] ?? []) add(pattern);
    for (const nonmember of imported.nonmembers) if (keys[nonmember.action] === key) add(nonmember.address);
    settings[key] = merged;
  }
  const bans = [...(current?.bannedAddresses ?? [])];
  let bansAdded = 0;
  for (const ban of imported.bans) {
    const normal = ban.startsWith('^') ? ban : ban.toLowerCase();
    if (bans.some((have) => (have.startsWith('^') ? have === normal : have.toLowerCase() === normal))) continue;
    bans.push(normal);
    bansAdded++;
  }
  settings.bannedAddresses = bans;
  return { settings, nonmemberPatternsAdded, bansAdded };
}

/**
 * Settings switchyard refuses one by one (a ^pattern it judges catastrophic):
 * dropped from `settings` and named in `problems`, so one bad value does not
 * stop the list's import.
 */
async function validSettings(settings: Partial<ListSettings>, problems: string[]): Promise<Partial<ListSettings>> {
  const { listSettingsSchema } = await import('../store/list-settings.js');
  const kept: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(settings)) {
    const field = listSettingsSchema.shape[key as keyof ListSettings];
    if (field === undefined) continue;
    if (Array.isArray(value)) {
      // Lists are checked entry by entry, keeping the good ones.
      const good: unknown[] = [];
      for (const item of value) {
        const result = field.safeParse([item]);
        if (result.success) good.push(...(result.data as unknown[]));
        else problems.push(`${key}: ${JSON.stringify(item)} refused: ${result.error.issues[0]?.message ?? 'invalid'}`);
      }
      kept[key] = [...new Set(good)];
    } else {
      const result = field.safeParse(value);
      if (result.success) kept[key] = result.data;
      else problems.push(`${key}: ${JSON.stringify(value)} refused: ${result.error.issues[0]?.message ?? 'invalid'}`);
    }
  }
  return kept as Partial<ListSettings>;
}

async function importList(ctx: ImportContext, imported: ImportedList, dryRun: boolean): Promise<ListImportReport> {
  const { store } = ctx;
  const problems: string[] = [...(imported.refused ?? [])];
  const existing = await store.findList(imported.address);
  const merged = wantedSettings(imported, existing?.settings ?? null);
  const settings = await validSettings(merged.settings, problems);
  const report: ListImportReport = {
    list: imported.address,
    created: existing === null,
    settingsChanged: [],
    members: { added: 0, updated: 0, unchanged: 0 },
    nonmemberPatternsAdded: merged.nonmemberPatternsAdded,
    bansAdded: merged.bansAdded,
    held: { added: 0, existing: 0 },
    requests: { added: 0, existing: 0 },
    unmapped: imported.unmapped,
    problems,
  };

  if (existing === null) {
    report.settingsChanged = ['displayName', 'description', ...Object.keys(settings)];
    if (!dryRun) await createList(ctx, { address: imported.address, displayName: imported.displayName, description: imported.description, settings });
  } else {
    const changed: Partial<ListSettings> = {};
    for (const [key, value] of Object.entries(settings)) {
      if (!same(existing.settings[key as keyof ListSettings], value)) (changed as Record<string, unknown>)[key] = value;
    }
    report.settingsChanged = Object.keys(changed);
    const fields: { displayName?: string; description?: string } = {};
    if (existing.displayName !== imported.displayName && imported.displayName !== '') fields.displayName = imported.displayName;
    if (existing.description !== imported.description) fields.description = imported.description;
    report.settingsChanged.unshift(...Object.keys(fields));
    if (!dryRun && report.settingsChanged.length > 0) await store.updateList(existing.address, { ...fields, ...(Object.keys(changed).length > 0 ? { settings: changed } : {}) });
  }

  // Members: one read of the roster, then adds and updates in batches.
  const current = new Map<string, Member>();
  if (existing !== null) for (const member of await store.members(existing.address)) current.set(memberKey(member.address, member.role), member);
  const wanted = new Map<string, ImportedMember>();
  for (const source of imported.members) {
    const member = { ...source, displayName: oneLineName(source.displayName, `${source.role} ${JSON.stringify(source.address)}`, problems) };
    try {
      wanted.set(memberKey(member.address, member.role), member);
    } catch (error) {
      problems.push(`${member.role} ${JSON.stringify(member.address)} refused: ${(error as Error).message}`);
    }
  }
  const toAdd: ImportedMember[] = [];
  const updates: { address: string; role: Role; changes: MemberChanges }[] = [];
  for (const [key, member] of wanted) {
    const have = current.get(key);
    if (have === undefined) {
      toAdd.push(member);
      const changes = memberChanges({ ...DEFAULT_MEMBER, address: member.address, role: member.role, list: imported.address, displayName: member.displayName }, member);
      if (Object.keys(changes).length > 0) updates.push({ address: member.address, role: member.role, changes });
      continue;
    }
    const changes = memberChanges(have, member);
    if (Object.keys(changes).length === 0) report.members.unchanged++;
    else {
      report.members.updated++;
      updates.push({ address: member.address, role: member.role, changes });
    }
  }
  report.members.added = toAdd.length;
  if (!dryRun) {
    for (let at = 0; at < toAdd.length; at += BATCH) {
      await store.addMembers(imported.address, toAdd.slice(at, at + BATCH).map((member) => ({ address: member.address, displayName: member.displayName, role: member.role })));
    }
    for (let at = 0; at < updates.length; at += BATCH) await store.updateMembers(imported.address, updates.slice(at, at + BATCH));
  }

  // Held posts, by Message-ID (else bytes) among those the list holds.
  const heldNow = new Set<string>();
  if (existing !== null) for (const held of await store.heldMessages(existing.address)) heldNow.add(heldKey(held.messageId, held.raw ?? Buffer.alloc(0)));
  for (const held of imported.held) {
    const key = heldKey(held.messageId, held.raw);
    if (heldNow.has(key)) {
      report.held.existing++;
      continue;
    }
    heldNow.add(key);
    report.held.added++;
    if (!dryRun) {
      await store.holdMessage({
        list: imported.address,
        sender: held.sender,
        subject: held.subject,
        reason: held.reason,
        receivedAt: held.receivedAt,
        messageId: held.messageId,
        raw: held.raw,
        metadata: { listId: imported.address, importedFrom: held.sourceId },
      });
    }
  }

  // Pending requests keep their tokens: one that exists is the same request.
  for (const request of imported.requests) {
    if ((await store.pendingRequestByToken(request.token)) !== null) {
      report.requests.existing++;
      continue;
    }
    report.requests.added++;
    const displayName = request.displayName === undefined ? undefined : oneLineName(request.displayName, `pending request ${JSON.stringify(request.address)}`, problems);
    if (!dryRun) await store.addPendingRequest({ ...request, ...(displayName === undefined ? {} : { displayName }), list: imported.address });
  }
  return report;
}

/**
 * The store refuses a display name with a line break or other control
 * character (it goes into headers); one imported from the old site is kept
 * with each run of them turned into a space, and the report says so.
 */
function oneLineName(name: string, who: string, problems: string[]): string {
  const cleaned = oneLine(name);
  if (cleaned !== name) problems.push(`${who}: control characters in the display name replaced by spaces`);
  return cleaned;
}

const DEFAULT_MEMBER: Omit<Member, 'address' | 'role' | 'list' | 'displayName'> = {
  deliveryMode: 'regular',
  receiveOwnPostings: true,
  receiveListCopy: true,
  acknowledgePosts: false,
  hideAddress: false,
  preferredLanguage: null,
  deliveryStatus: 'enabled',
  moderationAction: null,
  bounceScore: 0,
  lastBounceAt: null,
  bounceWarningsSent: 0,
  lastBounceWarningAt: null,
  subscribedAt: new Date(0),
};

function listChanged(report: ListImportReport): boolean {
  return (
    report.created ||
    report.settingsChanged.length > 0 ||
    report.members.added + report.members.updated > 0 ||
    report.held.added > 0 ||
    report.requests.added > 0
  );
}

/** Apply `site` to the store (or, with dryRun, say what would change). */
export async function importSite(ctx: ImportContext, site: ImportedSite, options: SiteImportOptions = {}): Promise<SiteImportReport> {
  const dryRun = options.dryRun === true;
  const lists: ListImportReport[] = [];
  for (const list of site.lists) {
    lists.push(await importList(ctx, list, dryRun));
    options.onProgress?.(lists.length, site.lists.length);
  }
  return { source: site.source, dryRun, lists, siteUnmapped: site.siteUnmapped, unchanged: !lists.some(listChanged) };
}
