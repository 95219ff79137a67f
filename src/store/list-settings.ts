/**
 * A list's settings: one zod schema, every setting with its default and a
 * one-line description (the same discipline as src/config/schema.ts). The
 * store keeps them as JSON in the `lists` table and parses them through this
 * schema on every read, so a setting added later needs no migration: old
 * rows simply get its default. Names follow Mailman 3's list attributes,
 * camelCased (default_member_action -> defaultMemberAction).
 *
 * `switchyard lists show` lists them; `switchyard lists set LIST KEY VALUE`
 * parses the value with parseSettingValue() below.
 */
import { z } from 'zod';
import { ListSettingError } from './errors.js';
import { nonmemberPatternProblem, normaliseNonmemberPattern } from './nonmember-patterns.js';

import { MODERATION_ACTIONS } from './moderation-actions.js';
import { hashModeratorPassword } from './moderator-password.js';

export { MODERATION_ACTIONS, type ModerationAction } from './moderation-actions.js';

const regex = z.string().refine(
  (source) => {
    try {
      new RegExp(source, 'i');
      return true;
    } catch {
      return false;
    }
  },
  { message: 'not a valid regular expression' },
);

/** Addresses and ^regular expressions (nonmember-patterns.ts), checked and normalised, no duplicates. */
const nonmemberPatterns = z
  .array(
    z.string().superRefine((pattern, ctx) => {
      const problem = nonmemberPatternProblem(pattern);
      if (problem !== null) ctx.addIssue({ code: 'custom', message: problem });
    }),
  )
  .max(1000)
  .transform((patterns) => [...new Set(patterns.map(normaliseNonmemberPattern))]);

/** A URL for a List-* header: http, https or mailto, no spaces or angle brackets; or empty. */
const url = z
  .string()
  .refine((text) => text === '' || /^(https?:\/\/[^\s<>"]+|mailto:[^\s<>"]+)$/i.test(text), { message: 'expected an http(s) or mailto URL, or empty' });

/** Stored form of the moderator password (never the password itself). */
const PASSWORD_HASH = /^scrypt\$[0-9a-f]{32}\$[0-9a-f]{64}$/;

// Bans are read by the configuration too ([membership] bans), which the master loads without the store.
import { banPattern, isBanned } from '../mail/ban-pattern.js';

export { banPattern, isBanned };

export const listSettingsSchema = z.object({
  emergency: z.boolean().default(false).describe('hold every post for the moderators, whoever sends it'),
  moderatorPassword: z
    .string()
    .regex(PASSWORD_HASH, 'must be stored hashed (`lists set` hashes it)')
    .nullable()
    .default(null)
    .describe('password for the Approved: header (stored as an scrypt hash); null: none'),
  moderateByReply: z
    .enum(['password', 'moderator-address', 'either', 'off'])
    .default('password')
    .describe(
      "deciding a held post by replying to its notice (approve, reject REASON, discard): the reply must carry the moderator password (Approved: header or first line), come from an owner's or moderator's address (From can be forged), either, or not at all",
    ),
  defaultMemberAction: z.enum(MODERATION_ACTIONS).default('accept').describe("what happens to members' posts unless the member has their own moderation action"),
  defaultNonmemberAction: z.enum(MODERATION_ACTIONS).default('hold').describe('what happens to posts from addresses that are not members'),
  acceptTheseNonmembers: nonmemberPatterns.default([]).describe('posts from these non-members (addresses, or ^regular expressions matched against the address) go on as if from members'),
  holdTheseNonmembers: nonmemberPatterns.default([]).describe('posts from these non-members (addresses or ^regular expressions) are held for the moderators'),
  rejectTheseNonmembers: nonmemberPatterns.default([]).describe('posts from these non-members (addresses or ^regular expressions) are rejected with a notice'),
  discardTheseNonmembers: nonmemberPatterns.default([]).describe('posts from these non-members (addresses or ^regular expressions) are discarded'),
  respondToPostRequests: z.boolean().default(true).describe('tell the poster of a held post that it awaits moderator approval (within maxAutoResponsesPerDay)'),
  maxAutoResponsesPerDay: z
    .number()
    .int()
    .min(0)
    .default(10)
    .describe('automatic replies (email command results, held-post and rejection notices, counted together) one address gets from the list per UTC day; 0: no limit'),
  maxMessageSize: z.number().int().min(0).default(40).describe('largest post accepted without moderation, in KB; 0: no limit'),
  maxNumRecipients: z.number().int().min(0).default(10).describe('posts with more explicit recipients are held; 0: no limit'),
  subjectPrefix: z.string().default('').describe('prepended to the Subject of every post (set to "[Display Name] " at creation)'),
  replyGoesToList: z
    .enum(['no_munging', 'point_to_list', 'explicit_header'])
    .default('no_munging')
    .describe("Reply-To: leave it, point it at the list, or set it to replyToAddress"),
  replyToAddress: z.string().default('').describe("the Reply-To address when replyGoesToList is 'explicit_header'"),
  dmarcMitigateAction: z
    .enum(['no_mitigation', 'munge_from', 'wrap_message', 'reject', 'discard'])
    .default('munge_from')
    .describe("posts from domains whose DMARC policy is reject or quarantine: rewrite From, wrap the post, or refuse it"),
  dmarcMitigateUnconditionally: z.boolean().default(false).describe('apply dmarcMitigateAction to every post, whatever the DMARC policy'),
  headerText: z.string().default('').describe('text added at the top of every post; empty: none'),
  footerText: z.string().default('').describe('text added at the bottom of every post; empty: none'),
  postingPipeline: z
    .array(z.string().regex(/^[a-z][a-z0-9-]{0,63}$/, 'handler names are a-z, 0-9, -'))
    .default(['cleanse', 'subject-prefix', 'list-headers', 'reply-to', 'to-archive', 'dmarc', 'decorate', 'to-outgoing'])
    .describe('the handlers an accepted post goes through, in order (`switchyard lists set` names the known ones)'),
  postingChain: z
    .string()
    .regex(/^[a-z][a-z0-9-]{0,63}$/, 'chain names are a-z, 0-9, -')
    .default('default')
    .describe('the chain of rules a post goes through before the pipeline (`default`: the standard posting chain)'),
  requireExplicitDestination: z.boolean().default(true).describe('hold posts that name the list in neither To nor Cc'),
  suspiciousHeaders: z.array(regex).default([]).describe('hold posts with a header line matching one of these regular expressions (case-insensitive)'),
  administrivia: z.boolean().default(true).describe('hold posts that look like (un)subscribe requests sent to the list'),
  noSubjectAction: z.enum(['hold', 'accept']).default('hold').describe('what happens to posts without a Subject (or with only the prefix and Re:)'),
  maxDaysToHold: z.number().int().min(0).default(14).describe('held posts older than this many days are discarded (logged); 0: kept until a moderator decides'),
  archive: z.boolean().default(true).describe('pass accepted posts to the archivers'),
  archivePolicy: z
    .enum(['public', 'private'])
    .default('public')
    .describe("who may read the list's archive on the web (/archives/LIST/): anyone, or only its members, owners and moderators (logged in by a mailed link)"),
  archiveUrl: url.default('').describe('the List-Archive URL (http, https or mailto); empty: no List-Archive header'),
  listHelpUrl: url.default('').describe('a page added to List-Help beside the -request address; empty: none'),
  listSubscribeUrl: url.default('').describe('a page added to List-Subscribe beside the -join address; empty: none'),
  listUnsubscribeUrl: url
    .default('')
    .describe('added to List-Unsubscribe beside the -leave address; an https URL accepting RFC 8058 one-click POSTs also adds List-Unsubscribe-Post'),
  oneClickUnsubscribe: z
    .boolean()
    .default(true)
    .describe('with the HTTP service on and an https [http] baseUrl: each member\'s copy carries its own RFC 8058 one-click List-Unsubscribe URL (<baseUrl/u/TOKEN>, DKIM-signed per copy; posts then go one copy per recipient, VERP, much slower than bulk); off, or without an https baseUrl: only the -leave mailto'),
  advertised: z.boolean().default(true).describe('shown on the public start page (/) of the HTTP service; the list\'s own page /lists/NAME@DOMAIN is reachable either way'),
  includeListPostHeader: z.boolean().default(true).describe('add List-Post (announce-only lists turn it off)'),
  verp: z.boolean().default(false).describe('deliver posts one recipient per transaction with a VERP envelope sender (name-bounces+user=domain@...)'),
  bounceScoreThreshold: z.number().min(0).default(5).describe("a member's bounce score at which delivery is disabled"),
  bounceInfoStaleAfter: z.number().int().min(1).default(7).describe('days after which a member without new bounces has their score reset'),
  processBounces: z.boolean().default(true).describe('score bounces and disable members at bounceScoreThreshold; false: bounces are only logged'),
  bounceYouAreDisabledWarnings: z.number().int().min(0).default(3).describe('warnings a member disabled by bounces gets before being removed'),
  bounceYouAreDisabledWarningsInterval: z.number().int().min(1).default(7).describe('days between those warnings (and after the last, before removal)'),
  bounceNotifyOwnerOnDisable: z.boolean().default(true).describe('tell the owners when a member is disabled by bounces'),
  bounceNotifyOwnerOnRemoval: z.boolean().default(true).describe('tell the owners when a member is removed after the warnings'),
  forwardUnrecognizedBouncesTo: z
    .enum(['administrators', 'discard'])
    .default('administrators')
    .describe("bounces naming no member, or that no detector understands: forward to the owners and moderators, or discard (logged either way)"),
  subscriptionPolicy: z
    .enum(['open', 'confirm', 'moderate', 'confirm_then_moderate'])
    .default('confirm')
    .describe('how a subscription request by mail becomes a membership: at once, after the address confirms, after an owner approves, or both'),
  unsubscriptionPolicy: z.enum(['open', 'confirm', 'moderate']).default('confirm').describe('how a request to leave is carried out: at once, after the address confirms, or after an owner approves'),
  pendingRequestLifetime: z.number().int().min(1).max(365).default(3).describe('days a request waiting for a confirmation or an owner stays valid'),
  confirmationsPerDay: z.number().int().min(0).default(3).describe('confirmation mails sent to one address for this list per day (UTC); more requests get none'),
  sendWelcomeMessage: z.boolean().default(true).describe('send a new member the welcome message (list info, how to post, how to leave)'),
  sendGoodbyeMessage: z.boolean().default(true).describe('send a leaving member the goodbye message'),
  welcomeMessageText: z.string().max(20_000).default('').describe('text put at the top of the welcome message; empty: the description alone'),
  memberRosterVisibility: z
    .enum(['public', 'members', 'moderators'])
    .default('moderators')
    .describe("who the `who` email command answers: anyone, members only, or nobody by mail (owners use `switchyard members list`)"),
  bannedAddresses: z.array(banPattern).default([]).describe('addresses (or ^regular expressions) that may not subscribe; site-wide ones are [membership] bans'),
  digestSizeThreshold: z.number().min(0).default(30).describe('KB of posts waiting for the next digest at which it is sent (checked each [cron] digests run); 0: no size trigger'),
  digestSendPeriodic: z
    .string()
    .regex(/^$|^\S+(\s+\S+){4,5}$/, 'a cron expression (5 or 6 fields), or empty')
    .default('0 0 * * *')
    .describe('when a digest with waiting posts is sent whatever its size (cron expression, server time); empty: only by size or `digests send`'),
  digestVolumeFrequency: z
    .enum(['yearly', 'quarterly', 'monthly', 'weekly', 'daily'])
    .default('monthly')
    .describe('how often the digest volume number goes up (the issue number then starts again at 1)'),
  complaintAction: z
    .enum(['unsubscribe', 'disable', 'record'])
    .default('unsubscribe')
    .describe("a member's spam complaint (ARF feedback report, SES complaint; types abuse and fraud): unsubscribe them, disable their delivery, or only record it"),
});

export type ListSettings = z.output<typeof listSettingsSchema>;
export type SettingKey = keyof ListSettings;
export const SETTING_KEYS = Object.keys(listSettingsSchema.shape) as SettingKey[];

export function defaultSettings(): ListSettings {
  return listSettingsSchema.parse({});
}

function problems(error: z.ZodError): string {
  return error.issues.map((issue) => (issue.path.length > 1 ? `${issue.path.slice(1).join('.')}: ` : '') + issue.message).join('; ');
}

/**
 * Settings as stored (or as given by a caller), validated, defaults filled
 * in. Unknown keys are an error when `strict` (a caller's mistake) and are
 * dropped otherwise (a row written by a newer switchyard).
 */
export function parseSettings(value: unknown, strict: boolean): ListSettings {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ListSettingError('settings', 'expected an object');
  if (strict) {
    for (const key of Object.keys(value)) if (!(key in listSettingsSchema.shape)) throw unknownSetting(key);
  }
  const result = listSettingsSchema.safeParse(value);
  if (!result.success) {
    const key = String(result.error.issues[0]?.path[0] ?? 'settings');
    throw new ListSettingError(key, problems(result.error));
  }
  return result.data;
}

function unknownSetting(key: string): ListSettingError {
  return new ListSettingError(key, `no such setting; the settings are ${SETTING_KEYS.join(', ')}`);
}

export function isSettingKey(key: string): key is SettingKey {
  return Object.hasOwn(listSettingsSchema.shape, key);
}

export function settingDescription(key: SettingKey): string {
  return listSettingsSchema.shape[key].description ?? '';
}

/** The kind of value a setting takes, for parsing command-line text and for help. */
export function settingKind(key: SettingKey): 'boolean' | 'number' | 'enum' | 'string' | 'list' | 'password' {
  if (key === 'moderatorPassword') return 'password';
  const example = defaultSettings()[key];
  if (typeof example === 'boolean') return 'boolean';
  if (typeof example === 'number') return 'number';
  if (Array.isArray(example)) return 'list';
  return settingOptions(key) === null ? 'string' : 'enum';
}

/** The allowed values of an enum setting, else null. */
export function settingOptions(key: SettingKey): readonly string[] | null {
  let field: z.ZodType = listSettingsSchema.shape[key];
  while (field instanceof z.ZodDefault || field instanceof z.ZodNullable) field = field.unwrap() as z.ZodType;
  return field instanceof z.ZodEnum ? (field.options as string[]) : null;
}

/**
 * A setting's value from command-line text: `true`/`false` (also yes/no,
 * on/off) for flags, decimal numbers, a JSON array for lists (`[]` clears),
 * the text itself for strings; `none` clears the moderator password, any
 * other text is hashed. The result is validated against the schema, and a
 * problem names the key.
 */
export function parseSettingValue(key: string, text: string): Partial<ListSettings> {
  if (!isSettingKey(key)) throw unknownSetting(key);
  let value: unknown;
  switch (settingKind(key)) {
    case 'boolean': {
      const lower = text.toLowerCase();
      if (['true', 'yes', 'on', '1'].includes(lower)) value = true;
      else if (['false', 'no', 'off', '0'].includes(lower)) value = false;
      else throw new ListSettingError(key, `expected true or false, got ${JSON.stringify(text)}`);
      break;
    }
    case 'number':
      if (!/^-?\d+(\.\d+)?$/.test(text.trim())) throw new ListSettingError(key, `expected a number, got ${JSON.stringify(text)}`);
      value = Number(text);
      break;
    case 'list':
      try {
        value = JSON.parse(text);
      } catch {
        throw new ListSettingError(key, `expected a JSON array such as '["^X-Spam: yes"]', got ${JSON.stringify(text)}`);
      }
      break;
    case 'password':
      value = text === '' || text.toLowerCase() === 'none' ? null : hashModeratorPassword(text);
      break;
    case 'enum': {
      const options = settingOptions(key) ?? [];
      if (!options.includes(text)) throw new ListSettingError(key, `expected one of ${options.join(', ')}, got ${JSON.stringify(text)}`);
      value = text;
      break;
    }
    case 'string':
      value = text;
      break;
  }
  const field = listSettingsSchema.shape[key];
  const result = field.safeParse(value);
  if (!result.success) throw new ListSettingError(key, problems(new z.ZodError(result.error.issues.map((issue) => ({ ...issue, path: [key, ...issue.path] })))));
  return { [key]: result.data } as Partial<ListSettings>;
}

export { hashModeratorPassword, verifyModeratorPassword, verifyModeratorPasswordAsync } from './moderator-password.js';
