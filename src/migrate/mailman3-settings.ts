/**
 * Mailman 3 list settings in switchyard's terms. The input is a list's
 * configuration as Mailman core's REST API gives it (`GET
 * /lists/ID/config`: enums by name, durations as `7d`); the database reader
 * (mailman3-database.ts) builds the same shape from its columns. Every key
 * is either mapped (MAPPED below), state rather than a setting (STATE:
 * addresses derived from the name, counters, timestamps), or reported as
 * unmapped with its value and what to do: nothing is dropped silently.
 */
import type { ListSettings, ModerationAction } from '../store/index.js';
import type { UnmappedSetting } from './site-model.js';

export type MailmanConfig = Readonly<Record<string, unknown>>;

/** Keys that are derived or runtime state, not a setting an operator chose. */
const STATE = new Set([
  'bounces_address', 'created_at', 'digest_last_sent_at', 'fqdn_listname', 'http_etag', 'join_address', 'last_post_at', 'leave_address',
  'list_name', 'list_id', 'mail_host', 'next_digest_number', 'no_reply_address', 'owner_address', 'post_id', 'posting_address',
  'request_address', 'self_link', 'usenet_watermark', 'volume', 'member_count', 'display_name', 'description',
]);

/** Mailman's action names; `defer` (go on to the other rules) is what switchyard's accept does. */
function action(value: unknown): ModerationAction | undefined {
  if (value === 'defer') return 'accept';
  return value === 'accept' || value === 'hold' || value === 'reject' || value === 'discard' ? value : undefined;
}

/** `7d`, `1d 12h`, `90d` (lazr's as_timedelta, as the REST API writes it) in whole days; undefined if unreadable. */
export function durationDays(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value !== 'string') return undefined;
  let seconds = 0;
  let matched = false;
  for (const [, amount, unit] of value.matchAll(/(\d+(?:\.\d+)?)\s*([wdhms])/g)) {
    matched = true;
    seconds += Number(amount) * { w: 604800, d: 86400, h: 3600, m: 60, s: 1 }[unit as 'w' | 'd' | 'h' | 'm' | 's'];
  }
  // A Python timedelta written out ("7 days, 0:00:00"), as the database holds it.
  const python = /^(?:(\d+) days?,\s*)?(\d+):(\d\d):(\d\d)/.exec(value);
  if (!matched && python !== null) return Number(python[1] ?? 0) + (Number(python[2]) * 3600 + Number(python[3]) * 60 + Number(python[4])) / 86400;
  return matched ? seconds / 86400 : undefined;
}

/** Mailman 3 `$name` template variables and what switchyard's decoration writes for them (`{name}`). */
const TEMPLATE_VARIABLES: Record<string, string> = {
  display_name: '{displayName}',
  listname: '{list}',
  fqdn_listname: '{list}',
  list_name: '{listName}',
  short_listname: '{listName}',
  domain: '{domain}',
  mail_host: '{domain}',
  description: '{description}',
};

/**
 * A Mailman 3 template (string.Template: `$name`, `${name}`, `$$`) as
 * switchyard decoration text (`{name}`). Variables with no equivalent (per
 * member ones such as $user_address) are left as written and named in
 * `unknown`, for the report.
 */
export function convertTemplate(text: string): { text: string; unknown: string[] } {
  const unknown = new Set<string>();
  const converted = text.replace(/\$(?:\$|\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))/g, (whole, braced?: string, bare?: string) => {
    const name = braced ?? bare;
    if (name === undefined) return '$';
    const mapped = TEMPLATE_VARIABLES[name];
    if (mapped === undefined) unknown.add(name);
    return mapped ?? whole;
  });
  return { text: converted, unknown: [...unknown] };
}

/** Mailman 3.3's built-in regular footer (templates/en/list:member:generic:footer.txt), which every list without its own has. */
export const MAILMAN3_DEFAULT_FOOTER = '_______________________________________________\n$display_name mailing list -- $listname\nTo unsubscribe send an email to ${short_listname}-leave@${domain}\n';

export interface MappedSettings {
  displayName: string;
  description: string;
  settings: Partial<ListSettings>;
  unmapped: UnmappedSetting[];
}

function text(value: unknown): string {
  if (typeof value === 'string') return value;
  return JSON.stringify(value) ?? String(value);
}

/**
 * Map one list's configuration. `templates` are the list's own templates by
 * Mailman name (`list:member:regular:footer`) with their text; a list
 * without its own footer gets Mailman's default one, as its members saw it.
 */
export function mapMailman3Settings(config: MailmanConfig, templates: Readonly<Record<string, string>> = {}): MappedSettings {
  const settings: Partial<ListSettings> = {};
  const unmapped: UnmappedSetting[] = [];
  const report = (setting: string, value: unknown, note: string): void => void unmapped.push({ setting, value: text(value), note });
  const handled = new Set<string>();
  const bool = (key: string, target: keyof ListSettings): void => {
    handled.add(key);
    if (typeof config[key] === 'boolean') (settings as Record<string, unknown>)[target] = config[key];
    else if (key in config) report(key, config[key], 'not a true/false value; left at the switchyard default');
  };
  const number = (key: string, target: keyof ListSettings, convert: (n: number) => number = (n) => n): void => {
    handled.add(key);
    const value = config[key];
    if (typeof value === 'number' && Number.isFinite(value) && value >= 0) (settings as Record<string, unknown>)[target] = convert(value);
    else if (key in config) report(key, value, 'not a number; left at the switchyard default');
  };
  const oneOf = <T extends string>(key: string, target: keyof ListSettings, allowed: readonly T[], aliases: Record<string, [T, string]> = {}): void => {
    handled.add(key);
    const value = config[key];
    if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) (settings as Record<string, unknown>)[target] = value;
    else if (typeof value === 'string' && aliases[value] !== undefined) {
      const [to, note] = aliases[value]!;
      (settings as Record<string, unknown>)[target] = to;
      report(key, value, note);
    } else if (key in config) report(key, value, `switchyard's ${target} takes ${allowed.join(', ')}; left at the switchyard default`);
  };
  const days = (key: string, target: keyof ListSettings): void => {
    handled.add(key);
    const value = durationDays(config[key]);
    if (value !== undefined) {
      const whole = Math.max(1, Math.round(value));
      (settings as Record<string, unknown>)[target] = whole;
      if (whole !== value) report(key, config[key], `switchyard counts whole days: imported as ${whole}`);
    } else if (key in config) report(key, config[key], 'not a duration; left at the switchyard default');
  };

  const displayName = typeof config.display_name === 'string' ? config.display_name : '';
  const description = typeof config.description === 'string' ? config.description : '';

  bool('emergency', 'emergency');
  for (const [key, target] of [['default_member_action', 'defaultMemberAction'], ['default_nonmember_action', 'defaultNonmemberAction']] as const) {
    handled.add(key);
    const mapped = action(config[key]);
    if (mapped !== undefined) settings[target] = mapped;
    else if (key in config) report(key, config[key], 'not a moderation action; left at the switchyard default');
  }
  for (const [key, target] of [
    ['accept_these_nonmembers', 'acceptTheseNonmembers'],
    ['hold_these_nonmembers', 'holdTheseNonmembers'],
    ['reject_these_nonmembers', 'rejectTheseNonmembers'],
    ['discard_these_nonmembers', 'discardTheseNonmembers'],
  ] as const) {
    handled.add(key);
    const value = config[key];
    if (Array.isArray(value)) settings[target] = value.map(String);
  }
  bool('respond_to_post_requests', 'respondToPostRequests');
  number('max_message_size', 'maxMessageSize', Math.round);
  number('max_num_recipients', 'maxNumRecipients', Math.round);
  handled.add('subject_prefix');
  if (typeof config.subject_prefix === 'string') settings.subjectPrefix = config.subject_prefix;
  oneOf('reply_goes_to_list', 'replyGoesToList', ['no_munging', 'point_to_list', 'explicit_header'] as const, {
    explicit_header_only: ['explicit_header', 'switchyard sets the explicit Reply-To but leaves the list address in Cc (Mailman removed it)'],
  });
  handled.add('reply_to_address');
  if (typeof config.reply_to_address === 'string') settings.replyToAddress = config.reply_to_address;
  oneOf('dmarc_mitigate_action', 'dmarcMitigateAction', ['no_mitigation', 'munge_from', 'wrap_message', 'reject', 'discard'] as const);
  bool('dmarc_mitigate_unconditionally', 'dmarcMitigateUnconditionally');
  bool('require_explicit_destination', 'requireExplicitDestination');
  bool('administrivia', 'administrivia');
  number('max_days_to_hold', 'maxDaysToHold', Math.round);
  number('bounce_score_threshold', 'bounceScoreThreshold');
  days('bounce_info_stale_after', 'bounceInfoStaleAfter');
  bool('process_bounces', 'processBounces');
  number('bounce_you_are_disabled_warnings', 'bounceYouAreDisabledWarnings', Math.round);
  days('bounce_you_are_disabled_warnings_interval', 'bounceYouAreDisabledWarningsInterval');
  bool('bounce_notify_owner_on_disable', 'bounceNotifyOwnerOnDisable');
  bool('bounce_notify_owner_on_removal', 'bounceNotifyOwnerOnRemoval');
  oneOf('forward_unrecognized_bounces_to', 'forwardUnrecognizedBouncesTo', ['administrators', 'discard'] as const, {
    site_owner: ['administrators', 'switchyard forwards unrecognised bounces to the list owners and moderators, not the site owner'],
  });
  oneOf('subscription_policy', 'subscriptionPolicy', ['open', 'confirm', 'moderate', 'confirm_then_moderate'] as const);
  oneOf('unsubscription_policy', 'unsubscriptionPolicy', ['open', 'confirm', 'moderate'] as const, {
    confirm_then_moderate: ['moderate', 'switchyard has no confirm-then-moderate for leaving: imported as moderate'],
  });
  bool('send_welcome_message', 'sendWelcomeMessage');
  bool('send_goodbye_message', 'sendGoodbyeMessage');
  oneOf('member_roster_visibility', 'memberRosterVisibility', ['public', 'members', 'moderators'] as const);
  number('digest_size_threshold', 'digestSizeThreshold');
  oneOf('digest_volume_frequency', 'digestVolumeFrequency', ['yearly', 'quarterly', 'monthly', 'weekly', 'daily'] as const);
  handled.add('digest_send_periodic');
  // Mailman sends periodic digests when its `mailman digests --periodic` cron job runs (daily in Debian's crontab).
  if (config.digest_send_periodic === false) settings.digestSendPeriodic = '';
  else if (config.digest_send_periodic === true) settings.digestSendPeriodic = '0 0 * * *';
  handled.add('archive_policy');
  if (config.archive_policy === 'never') settings.archive = false;
  else if (config.archive_policy === 'public' || config.archive_policy === 'private') {
    settings.archive = true;
    // Mailman's private archive: HyperKitty shows it to members only, as switchyard's web archive does with archivePolicy private.
    settings.archivePolicy = config.archive_policy;
  } else if ('archive_policy' in config) report('archive_policy', config.archive_policy, 'unknown archive policy; archiving left on');
  bool('allow_list_posts', 'includeListPostHeader');
  handled.add('moderator_password');
  if (config.moderator_password !== null && config.moderator_password !== undefined && config.moderator_password !== '') {
    report('moderator_password', '(set)', 'Mailman stores it hashed in its own scheme: set it again with `switchyard lists set LIST moderatorPassword ...`');
  }

  // Templates: the regular header and footer are the decoration; the welcome text is the top of the welcome message.
  const footer = templates['list:member:regular:footer'] ?? MAILMAN3_DEFAULT_FOOTER;
  for (const [name, target, value] of [
    ['list:member:regular:header', 'headerText', templates['list:member:regular:header'] ?? ''],
    ['list:member:regular:footer', 'footerText', footer],
    ['list:user:notice:welcome', 'welcomeMessageText', templates['list:user:notice:welcome'] ?? ''],
  ] as const) {
    const converted = convertTemplate(value);
    settings[target] = converted.text;
    if (converted.unknown.length > 0) report(`template ${name}`, value, `variables with no switchyard equivalent left as written: ${converted.unknown.map((v) => `$${v}`).join(', ')}`);
  }
  if (templates['list:user:notice:welcome'] !== undefined) {
    report('template list:user:notice:welcome', '(set)', "imported as welcomeMessageText: switchyard puts it above its own welcome text (how to post, how to leave)");
  }
  for (const [name, value] of Object.entries(templates)) {
    if (['list:member:regular:header', 'list:member:regular:footer', 'list:user:notice:welcome'].includes(name)) continue;
    report(`template ${name}`, value, 'switchyard has no such template: its notices use built-in texts');
  }

  for (const [key, value] of Object.entries(config)) {
    if (handled.has(key) || STATE.has(key)) continue;
    report(key, value, 'no switchyard equivalent');
  }
  return { displayName, description, settings, unmapped };
}
