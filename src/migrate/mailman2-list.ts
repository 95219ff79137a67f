/**
 * Reads one Mailman 2.1 list from a directory: its configuration as
 * `config_list -o NAME` writes it (`config.txt`, parsed by
 * python-literal.ts) or the list's own `config.pck` (safe-pickle.ts), and
 * its members as `list_members` writes them, one file per kind:
 *
 *   members-regular.txt   list_members -f -r NAME      (regular delivery)
 *   members-digest.txt    list_members -f -d NAME      (digest delivery)
 *   nomail-byuser.txt     list_members -f --nomail=byuser NAME
 *   nomail-byadmin.txt    list_members -f --nomail=byadmin NAME
 *   nomail-bybounce.txt   list_members -f --nomail=bybounce NAME
 *   moderated.txt         list_members -f -m NAME       (members whose posts are moderated)
 *
 * (`-f`: "Full Name <address>" lines; a bare address is read too.) A
 * config.pck carries its members itself. Nothing is evaluated: a file that
 * is not plain data is refused (ImportUnsafeError).
 */
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { ListSettings, ModerationAction } from '../store/index.js';
import { parseAddress } from '../store/index.js';
import { ImportSourceError } from './errors.js';
import { parseConfigList, type PyValue } from './python-literal.js';
import { pickleToRecord, readPickle } from './safe-pickle.js';
import { importedMember, type ImportedList, type ImportedMember, type UnmappedSetting } from './site-model.js';

type Config = Record<string, unknown>;

/** Mailman 2.1's %(name)s footer variables in switchyard's decoration. */
const VARIABLES: Record<string, string> = { real_name: '{displayName}', list_name: '{listName}', host_name: '{domain}', description: '{description}' };

export function convertMailman2Template(text: string): { text: string; unknown: string[] } {
  const unknown = new Set<string>();
  const converted = text.replace(/%\((\w+)\)s/g, (whole, name: string) => {
    const mapped = VARIABLES[name];
    if (mapped === undefined) unknown.add(name);
    return mapped ?? whole;
  });
  return { text: converted.replace(/%%/g, '%'), unknown: [...unknown] };
}

const MAPPED = new Set([
  'real_name', 'description', 'subject_prefix', 'reply_goes_to_list', 'reply_to_address', 'max_message_size', 'max_num_recipients', 'emergency',
  'default_member_moderation', 'member_moderation_action', 'generic_nonmember_action', 'accept_these_nonmembers', 'hold_these_nonmembers',
  'reject_these_nonmembers', 'discard_these_nonmembers', 'require_explicit_destination', 'administrivia', 'respond_to_post_requests', 'max_days_to_hold',
  'bounce_processing', 'bounce_score_threshold', 'bounce_info_stale_after', 'bounce_you_are_disabled_warnings', 'bounce_you_are_disabled_warnings_interval',
  'bounce_notify_owner_on_disable', 'bounce_notify_owner_on_removal', 'bounce_unrecognized_goes_to_list_owner', 'subscribe_policy', 'unsubscribe_policy',
  'send_welcome_msg', 'send_goodbye_msg', 'welcome_msg', 'private_roster', 'digest_size_threshhold', 'digest_volume_frequency', 'digest_send_periodic',
  'archive', 'msg_header', 'msg_footer', 'include_list_post_header', 'dmarc_moderation_action', 'owner', 'moderator', 'ban_list', 'host_name',
  // Members and their options (config.pck), read below.
  'members', 'digest_members', 'user_options', 'delivery_status', 'usernames', 'bounce_info', 'passwords', 'language',
]);

const NUMBER_TO_ACTION: Record<number, ModerationAction> = { 0: 'hold', 1: 'reject', 2: 'discard' };
const NONMEMBER_ACTION: Record<number, ModerationAction> = { 0: 'accept', 1: 'hold', 2: 'reject', 3: 'discard' };

function num(value: unknown): number | undefined {
  return typeof value === 'number' ? value : typeof value === 'boolean' ? Number(value) : undefined;
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.map(String) : [];
}

/** Mailman 2.1 settings in switchyard's terms, and the ones with no equivalent. */
export function mapMailman2Settings(config: Config): { settings: Partial<ListSettings>; unmapped: UnmappedSetting[] } {
  const s: Partial<ListSettings> = {};
  const unmapped: UnmappedSetting[] = [];
  const report = (setting: string, value: unknown, note: string): void => void unmapped.push({ setting, value: typeof value === 'string' ? value : JSON.stringify(value), note });
  const flag = (key: string): boolean | undefined => (num(config[key]) === undefined ? undefined : num(config[key]) !== 0);
  const set = <K extends keyof ListSettings>(key: K, value: ListSettings[K] | undefined): void => {
    if (value !== undefined) s[key] = value;
  };
  if (typeof config.subject_prefix === 'string') s.subjectPrefix = config.subject_prefix;
  set('replyGoesToList', (['no_munging', 'point_to_list', 'explicit_header'] as const)[num(config.reply_goes_to_list) ?? -1]);
  if (typeof config.reply_to_address === 'string') s.replyToAddress = config.reply_to_address;
  set('maxMessageSize', num(config.max_message_size));
  set('maxNumRecipients', num(config.max_num_recipients));
  set('emergency', flag('emergency'));
  if (num(config.default_member_moderation) !== undefined) s.defaultMemberAction = flag('default_member_moderation') ? (NUMBER_TO_ACTION[num(config.member_moderation_action) ?? 0] ?? 'hold') : 'accept';
  set('defaultNonmemberAction', NONMEMBER_ACTION[num(config.generic_nonmember_action) ?? -1]);
  for (const [key, target] of [['accept_these_nonmembers', 'acceptTheseNonmembers'], ['hold_these_nonmembers', 'holdTheseNonmembers'], ['reject_these_nonmembers', 'rejectTheseNonmembers'], ['discard_these_nonmembers', 'discardTheseNonmembers']] as const) {
    const all = strings(config[key]);
    const lists = all.filter((entry) => entry.startsWith('@'));
    s[target] = all.filter((entry) => !entry.startsWith('@'));
    if (lists.length > 0) report(key, lists, "Mailman 2.1 '@listname' entries (another list's members) have no switchyard equivalent: not imported");
  }
  set('requireExplicitDestination', flag('require_explicit_destination'));
  set('administrivia', flag('administrivia'));
  if (num(config.respond_to_post_requests) !== undefined) s.respondToPostRequests = flag('respond_to_post_requests')!;
  set('maxDaysToHold', num(config.max_days_to_hold));
  set('processBounces', flag('bounce_processing'));
  set('bounceScoreThreshold', num(config.bounce_score_threshold));
  const days = (value: unknown): number | undefined => (num(value) === undefined ? undefined : Math.max(1, Math.round(num(value)!)));
  set('bounceInfoStaleAfter', days(config.bounce_info_stale_after));
  set('bounceYouAreDisabledWarnings', num(config.bounce_you_are_disabled_warnings));
  set('bounceYouAreDisabledWarningsInterval', days(config.bounce_you_are_disabled_warnings_interval));
  set('bounceNotifyOwnerOnDisable', flag('bounce_notify_owner_on_disable'));
  set('bounceNotifyOwnerOnRemoval', flag('bounce_notify_owner_on_removal'));
  if (num(config.bounce_unrecognized_goes_to_list_owner) !== undefined) s.forwardUnrecognizedBouncesTo = flag('bounce_unrecognized_goes_to_list_owner') ? 'administrators' : 'discard';
  set('subscriptionPolicy', (['open', 'confirm', 'moderate', 'confirm_then_moderate'] as const)[num(config.subscribe_policy) ?? -1]);
  set('unsubscriptionPolicy', (['confirm', 'moderate'] as const)[num(config.unsubscribe_policy) ?? -1]);
  set('sendWelcomeMessage', flag('send_welcome_msg'));
  set('sendGoodbyeMessage', flag('send_goodbye_msg'));
  set('memberRosterVisibility', (['public', 'members', 'moderators'] as const)[num(config.private_roster) ?? -1]);
  set('digestSizeThreshold', num(config.digest_size_threshhold));
  set('digestVolumeFrequency', (['yearly', 'monthly', 'quarterly', 'weekly', 'daily'] as const)[num(config.digest_volume_frequency) ?? -1]);
  if (num(config.digest_send_periodic) !== undefined) s.digestSendPeriodic = flag('digest_send_periodic') ? '0 0 * * *' : '';
  set('archive', flag('archive'));
  // Pipermail's private archive (members only, behind the list password): switchyard's web archive for members only.
  if (num(config.archive_private) !== undefined) s.archivePolicy = flag('archive_private') ? 'private' : 'public';
  set('includeListPostHeader', flag('include_list_post_header'));
  set('dmarcMitigateAction', (['no_mitigation', 'munge_from', 'wrap_message', 'reject', 'discard'] as const)[num(config.dmarc_moderation_action) ?? -1]);
  for (const [key, target] of [['msg_header', 'headerText'], ['msg_footer', 'footerText'], ['welcome_msg', 'welcomeMessageText']] as const) {
    if (typeof config[key] !== 'string') continue;
    const converted = convertMailman2Template(config[key] as string);
    s[target] = converted.text;
    if (converted.unknown.length > 0) report(key, config[key], `variables with no switchyard equivalent left as written: ${converted.unknown.map((v) => `%(${v})s`).join(', ')}`);
  }
  for (const [key, value] of Object.entries(config)) {
    if (MAPPED.has(key) || key === 'archive_private') continue;
    report(key, value, 'no switchyard equivalent');
  }
  return { settings: s, unmapped };
}

/** `Full Name <addr>` or a bare address, one per line; blank lines skipped. */
export function parseListMembers(text: string): { address: string; displayName: string }[] {
  const out: { address: string; displayName: string }[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const angle = /^(.*?)\s*<([^<>\s]+)>$/.exec(line);
    out.push(angle === null ? { address: line, displayName: '' } : { address: angle[2]!, displayName: angle[1]!.replace(/^"(.*)"$/, '$1') });
  }
  return out;
}

async function optional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ImportSourceError(`cannot read ${path}: ${(error as Error).message}`, { cause: error });
  }
}

/** Members from a config.pck's own tables (members, digest_members, user_options, delivery_status, usernames). */
function membersFromPickle(config: Config): ImportedMember[] {
  const names = (config.usernames ?? {}) as Record<string, unknown>;
  const options = (config.user_options ?? {}) as Record<string, unknown>;
  const status = (config.delivery_status ?? {}) as Record<string, unknown>;
  const out: ImportedMember[] = [];
  for (const [table, digest] of [['members', false], ['digest_members', true]] as const) {
    const entries = (config[table] ?? {}) as Record<string, unknown>;
    for (const [key, cased] of Object.entries(entries)) {
      const address = typeof cased === 'string' ? cased : key;
      const bits = num(options[key]) ?? 0;
      const why = Array.isArray(status[key]) ? num((status[key] as unknown[])[0]) : undefined;
      out.push(
        importedMember(address, 'member', {
          displayName: typeof names[key] === 'string' ? (names[key] as string) : '',
          // Mailman 2.1's user_options bits: 1 digest, 2 dont-receive-own, 4 ack, 8 plain digests, 16 conceal, 64 dont-receive-duplicates, 128 moderate.
          deliveryMode: digest ? (bits & 8 ? 'plain_digests' : 'mime_digests') : 'regular',
          receiveOwnPostings: (bits & 2) === 0,
          acknowledgePosts: (bits & 4) !== 0,
          hideAddress: (bits & 16) !== 0,
          receiveListCopy: (bits & 64) === 0,
          moderationAction: bits & 128 ? 'hold' : null,
          // delivery_status: (reason, time); 1 by user, 2 by admin, 3 by bounce, 0 unknown.
          deliveryStatus: why === undefined ? 'enabled' : why === 1 ? 'by_user' : why === 3 ? 'by_bounces' : 'by_owner',
        }),
      );
    }
  }
  return out;
}

export async function readMailman2List(dir: string): Promise<ImportedList> {
  const text = await optional(join(dir, 'config.txt'));
  let config: Config;
  let fromPickle = false;
  if (text !== undefined) config = parseConfigList(text) as Record<string, PyValue>;
  else {
    let data: Buffer;
    try {
      data = await readFile(join(dir, 'config.pck'));
    } catch (error) {
      throw new ImportSourceError(`${dir} has neither config.txt (\`config_list -o config.txt NAME\`) nor config.pck`, { cause: error });
    }
    config = pickleToRecord(readPickle(data));
    fromPickle = true;
  }
  const name = (typeof config.real_name === 'string' ? config.real_name : basename(dir)).toLowerCase();
  const host = typeof config.host_name === 'string' ? config.host_name : '';
  if (host === '') throw new ImportSourceError(`${dir}: the configuration has no host_name, so the list's address is not known`);
  const address = parseAddress(`${name}@${host}`).address.toLowerCase();
  const { settings, unmapped } = mapMailman2Settings(config);

  const members: ImportedMember[] = [];
  for (const owner of strings(config.owner)) members.push(importedMember(owner, 'owner'));
  for (const moderator of strings(config.moderator)) members.push(importedMember(moderator, 'moderator'));
  if (fromPickle) members.push(...membersFromPickle(config));
  else {
    const moderated = new Set(parseListMembers((await optional(join(dir, 'moderated.txt'))) ?? '').map((m) => m.address.toLowerCase()));
    const kinds: [string, Partial<ImportedMember>][] = [
      ['members-regular.txt', {}],
      ['members-digest.txt', { deliveryMode: 'mime_digests' }],
    ];
    const nomail: [string, ImportedMember['deliveryStatus']][] = [['nomail-byuser.txt', 'by_user'], ['nomail-byadmin.txt', 'by_owner'], ['nomail-bybounce.txt', 'by_bounces']];
    const disabled = new Map<string, ImportedMember['deliveryStatus']>();
    for (const [file, status] of nomail) for (const m of parseListMembers((await optional(join(dir, file))) ?? '')) disabled.set(m.address.toLowerCase(), status);
    for (const [file, fields] of kinds) {
      for (const m of parseListMembers((await optional(join(dir, file))) ?? '')) {
        const key = m.address.toLowerCase();
        members.push(importedMember(m.address, 'member', { ...fields, displayName: m.displayName, deliveryStatus: disabled.get(key) ?? 'enabled', moderationAction: moderated.has(key) ? 'hold' : null }));
      }
    }
  }
  return {
    address,
    displayName: typeof config.real_name === 'string' ? config.real_name : name,
    description: typeof config.description === 'string' ? config.description : '',
    settings,
    nonmembers: [],
    bans: strings(config.ban_list),
    members,
    held: [],
    requests: [],
    unmapped,
  };
}
