/**
 * Lists: create, remove, look at and configure mailing lists (Mailman's
 * `app/lifecycle.py` and the list settings). Creating or removing a list
 * emits ListCreated / ListRemoved (events.ts) once the store has committed
 * it; what must follow a list change (the MTA files) subscribes there.
 *
 * Every store change is one store transaction: killed at any moment, it
 * happened entirely or not at all. The subscribers run after it (see
 * events.ts for what a kill between the two leaves).
 */
import { ListSettingError, ROLES, type ListChanges, type ListSettings, type MailingList, type NewList, type RemovedList, type Role, type SettingKey, type Store } from '../store/index.js';
import { isSettingKey, parseSettingValue, SETTING_KEYS } from '../store/list-settings.js';
import { createHash } from 'node:crypto';
import type { AppContext, SettingRegistries } from './context.js';
import { ownerWarning } from './list-admins.js';

/** A list with what an operator wants to know about it at a glance. */
export interface ListOverview {
  list: MailingList;
  /** Member records by role. */
  counts: Record<Role, number>;
  /** Posts waiting for a moderator. */
  held: number;
  /** What an operator should fix (a list without owner). */
  warnings: string[];
}

/** Settings as they may be shown: the moderator password's hash never leaves the store. */
export type ShownSettings = Omit<ListSettings, 'moderatorPassword'> & { moderatorPassword: '(set)' | null };

/** Keys of `setListValue` that are list fields rather than settings. */
export const LIST_FIELD_KEYS = ['displayName', 'description'] as const;
export type ListFieldKey = (typeof LIST_FIELD_KEYS)[number];

export function isListField(key: string): key is ListFieldKey {
  return (LIST_FIELD_KEYS as readonly string[]).includes(key);
}

export interface CreatedList {
  overview: ListOverview;
  /** Subscribers of ListCreated that failed (the list exists regardless). */
  subscriberErrors: Error[];
}

export interface RemovedListResult {
  removed: RemovedList;
  /** Subscribers of ListRemoved that failed (the list is gone regardless). */
  subscriberErrors: Error[];
}

export function shownSettings(list: MailingList): ShownSettings {
  return { ...list.settings, moderatorPassword: list.settings.moderatorPassword === null ? null : '(set)' };
}

async function roleCounts(store: Store, list: string): Promise<Record<Role, number>> {
  const counts = { member: 0, owner: 0, moderator: 0 };
  for (const role of ROLES) counts[role] = await store.countMembers(list, { role });
  return counts;
}

type OverviewContext = Pick<AppContext, 'store' | 'siteOwner'>;

async function overviewOf(ctx: OverviewContext, list: MailingList): Promise<ListOverview> {
  const counts = await roleCounts(ctx.store, list.address);
  const warning = ownerWarning(list, counts, ctx.siteOwner);
  return { list, counts, held: await ctx.store.countHeld(list.address), warnings: warning === null ? [] : [warning] };
}

/**
 * Settings that name registry entries (postingPipeline, postingChain) are
 * checked against their registry: a name none has is refused here, where the
 * operator typing it sees the valid ones (RegistryUnknownError), instead of
 * sending every later post to shunt. The incoming runner still checks at
 * run time, for values stored before this check.
 */
export function checkRegistryNames(registries: SettingRegistries, settings: Partial<ListSettings>): void {
  for (const [key, value] of Object.entries(settings)) {
    const registry = registries[key as SettingKey];
    if (registry === undefined) continue;
    if (Array.isArray(value)) registry.check(value.map(String));
    else if (typeof value === 'string') registry.check([value]);
  }
}

/** The context's registries, loaded first when it passes a loader. */
async function registriesOf(ctx: Pick<AppContext, 'settingRegistries'>): Promise<SettingRegistries> {
  const registries = ctx.settingRegistries;
  return typeof registries === 'function' ? registries() : registries;
}

export interface CreateListRequest extends Omit<NewList, 'members'> {
  /** Added as owners with the list, in its transaction (Mailman's `mailman create --owner`). */
  owners?: readonly string[];
  moderators?: readonly string[];
}

/**
 * Create a list with the default settings and its owners and moderators, in
 * one store transaction (ListExistsError if it exists; an invalid address
 * creates nothing); then ListCreated. A list created without an owner is
 * created, with a warning in the overview.
 */
export async function createList(ctx: Pick<AppContext, 'store' | 'events' | 'siteOwner' | 'settingRegistries'>, request: CreateListRequest): Promise<CreatedList> {
  const { owners = [], moderators = [], ...newList } = request;
  if (newList.settings !== undefined) checkRegistryNames(await registriesOf(ctx), newList.settings);
  const members = [...owners.map((address) => ({ address, role: 'owner' as const })), ...moderators.map((address) => ({ address, role: 'moderator' as const }))];
  const list = await ctx.store.createList({ ...newList, members });
  const subscriberErrors = await ctx.events.emit({ type: 'ListCreated', list });
  return { overview: await overviewOf(ctx, list), subscriberErrors };
}

/** What removing the list would delete: to say so before the operator confirms. ListUnknownError if none. */
export async function listRemovalImpact(ctx: Pick<AppContext, 'store'>, address: string): Promise<RemovedList> {
  const list = await ctx.store.getList(address);
  const [members, held] = await Promise.all([ctx.store.countMembers(list.address), ctx.store.countHeld(list.address)]);
  return { list: list.address, members, held };
}

/** Remove a list with its members and held messages (ListUnknownError if none); then ListRemoved. */
export async function removeList(ctx: Pick<AppContext, 'store' | 'events'>, address: string): Promise<RemovedListResult> {
  const removed = await ctx.store.removeList(address);
  const subscriberErrors = await ctx.events.emit({ type: 'ListRemoved', ...removed });
  return { removed, subscriberErrors };
}

/** Every list with its counts, by address. */
export async function listLists(ctx: OverviewContext): Promise<ListOverview[]> {
  const result: ListOverview[] = [];
  for (const list of await ctx.store.lists()) result.push(await overviewOf(ctx, list));
  return result;
}

/** One list with its counts; ListUnknownError if none. */
export async function showList(ctx: OverviewContext, address: string): Promise<ListOverview> {
  return overviewOf(ctx, await ctx.store.getList(address));
}

/** One setting's value as it may be shown (the password only as `(set)`); ListUnknownError, ListSettingError. */
export async function getListSetting(ctx: Pick<AppContext, 'store'>, address: string, key: string): Promise<unknown> {
  const list = await ctx.store.getList(address);
  if (isListField(key)) return list[key];
  if (!isSettingKey(key)) throw new ListSettingError(key, `no such setting; the settings are ${SETTING_KEYS.join(', ')}`);
  return shownSettings(list)[key];
}

export interface SetListValue {
  overview: ListOverview;
  /** The value now stored, as it may be shown (the password only as `(set)`). */
  value: unknown;
}

/**
 * Set one setting, or the displayName or description, from its text form
 * (`true`, `40`, `reject`, a JSON array, `none` for a password). The text
 * is checked before the list is looked at, so a bad value is reported as
 * such (ListSettingError) even for a list that does not exist; a value
 * naming registry entries must name registered ones (RegistryUnknownError).
 */
export async function setListValue(ctx: OverviewContext & Pick<AppContext, 'settingRegistries'>, address: string, key: string, text: string): Promise<SetListValue> {
  const changes: ListChanges = isListField(key) ? { [key]: text } : { settings: parseSettingValue(key, text) };
  if (changes.settings !== undefined) checkRegistryNames(await registriesOf(ctx), changes.settings);
  const list = await ctx.store.updateList(address, changes);
  const value = isListField(key) ? list[key] : shownSettings(list)[key as SettingKey];
  return { overview: await overviewOf(ctx, list), value };
}

/**
 * A value of `setListValues` in its text form, as `lists set` takes it: a
 * string as is, true/false and numbers written out, an array as JSON, null
 * as `none` (no password). Everything after goes through parseSettingValue,
 * so the API and the CLI accept and refuse the same values.
 */
function settingText(key: string, value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean' || typeof value === 'number') return String(value);
  if (Array.isArray(value)) return JSON.stringify(value);
  if (value === null) return 'none';
  throw new ListSettingError(key, `expected a string, number, boolean, array or null, got ${typeof value}`);
}

/** A version tag of a list's settings and fields (the HTTP API's ETag): equal tags, equal settings. */
export function listVersionTag(list: MailingList): string {
  const text = JSON.stringify([list.displayName, list.description, Object.entries(list.settings).sort(([a], [b]) => (a < b ? -1 : 1))]);
  return createHash('sha256').update(text).digest('base64url').slice(0, 22);
}

/**
 * Set several settings (and displayName, description) at once, each checked
 * as `lists set` checks it, in one store transaction: all or none.
 * `expectTag`: the list's listVersionTag() the caller read; when the list
 * changed since, `onStale` is thrown and nothing is written (checked inside
 * the transaction, so no other writer comes between).
 */
export async function setListValues(
  ctx: OverviewContext & Pick<AppContext, 'settingRegistries'>,
  address: string,
  values: Readonly<Record<string, unknown>>,
  options: { expectTag?: string; onStale?: (current: string) => Error } = {},
): Promise<ListOverview> {
  const changes: ListChanges = {};
  for (const [key, value] of Object.entries(values)) {
    const text = settingText(key, value);
    if (isListField(key)) changes[key] = text;
    else changes.settings = { ...changes.settings, ...parseSettingValue(key, text) };
  }
  if (changes.settings !== undefined) checkRegistryNames(await registriesOf(ctx), changes.settings);
  const { expectTag, onStale } = options;
  const precondition =
    expectTag === undefined
      ? undefined
      : (current: MailingList): void => {
          const tag = listVersionTag(current);
          if (tag !== expectTag) throw onStale?.(tag) ?? new ListSettingError('(all)', `the list changed since it was read (${expectTag}, now ${tag})`);
        };
  const list = await ctx.store.updateList(address, changes, precondition === undefined ? {} : { precondition });
  return overviewOf(ctx, list);
}
