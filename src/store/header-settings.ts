/**
 * The list values that end up in the header of every post or notice, checked
 * when they are set (createList, updateList), so an operator (or whoever can
 * run `lists set`) cannot add fields to every post through them:
 *
 *   displayName     List-Id, the munged From, Reply-To (point_to_list), notices
 *   subjectPrefix   Subject
 *   replyToAddress  Reply-To: exactly one mailbox, `address` or `Name <address>`,
 *                   parsed here and written by the pipeline, never passed through
 *   list*Url, archiveUrl  List-Help, -Subscribe, -Unsubscribe, -Archive
 *
 * Refused: CR, LF, NUL and the other control characters (tab allowed in text),
 * with HeaderSettingError (SY_HEADER_SETTING). description, headerText and
 * footerText go into bodies only and are not checked here.
 *
 * Values stored before this check existed are not refused when read (the list
 * must keep working); the handlers that use them make them harmless instead
 * (src/mail/header-field.ts oneLine(), parseReplyToAddress() below).
 */
import { addressProblem } from './address.js';
import { EXIT_USAGE } from '../errors.js';
import { StoreError } from './errors.js';
import type { ListSettings } from './list-settings.js';

/** A list value refused because it would not be safe in a header field. */
export class HeaderSettingError extends StoreError {
  constructor(
    readonly key: string,
    readonly problem: string,
  ) {
    super('SY_HEADER_SETTING', `list setting ${key}: ${problem}`);
  }
}

/**
 * A member's, owner's or moderator's display name (also a pending request's):
 * it goes into the To of personalised copies and notices, so it is refused on
 * the way in like the list's own header values, whichever door it came through
 * (CLI, REST, web subscribe, import).
 */
export class MemberNameInvalidError extends StoreError {
  constructor(
    readonly address: string,
    readonly problem: string,
  ) {
    super('SY_MEMBER_NAME_INVALID', `display name of ${address}: ${problem}`, { exitCode: EXIT_USAGE });
  }
}

/** Throws MemberNameInvalidError when a display name holds a control character. */
export function checkMemberName(address: string, displayName: string | undefined): void {
  if (displayName === undefined) return;
  const problem = controlProblem(displayName);
  if (problem !== null) throw new MemberNameInvalidError(address, problem);
}

const CONTROL = /[\0-\x08\x0a-\x1f\x7f]/;
const URL_KEYS = ['archiveUrl', 'listHelpUrl', 'listSubscribeUrl', 'listUnsubscribeUrl'] as const;

function controlProblem(text: string): string | null {
  const match = CONTROL.exec(text);
  if (match === null) return null;
  const char = match[0];
  const what = char === '\r' ? 'a carriage return (CR)' : char === '\n' ? 'a line feed (LF)' : char === '\0' ? 'a NUL byte' : `the control character U+${char.charCodeAt(0).toString(16).padStart(4, '0').toUpperCase()}`;
  return `contains ${what}; it goes into a mail header, where a line break would add header fields to every message, so it is refused`;
}

export interface ReplyToMailbox {
  name: string;
  address: string;
}

/**
 * A replyToAddress read strictly: `address` or `Name <address>` (the name may
 * be a quoted string), one valid address, no control characters. Anything
 * else is a problem, never "the address addressparser could find in it".
 */
export function parseReplyToAddress(text: string): { mailbox: ReplyToMailbox } | { problem: string } {
  const control = controlProblem(text);
  if (control !== null) return { problem: control };
  const trimmed = text.trim();
  if (trimmed === '') return { problem: 'empty' };
  let name = '';
  let address = trimmed;
  const angle = /^([^<>]*)<([^<>]*)>$/.exec(trimmed);
  if (angle !== null) {
    name = angle[1]!.trim();
    address = angle[2]!.trim();
    const quoted = /^"((?:[^"\\]|\\.)*)"$/.exec(name);
    if (quoted !== null) name = quoted[1]!.replace(/\\(.)/g, '$1');
    else if (name.includes('"')) return { problem: 'the display name has an unbalanced quote' };
  } else if (/[<>]/.test(trimmed)) {
    return { problem: 'expected an address or "Name <address>"' };
  }
  const problem = addressProblem(address);
  if (problem !== null) return { problem: `not exactly one valid address (${problem})` };
  return { mailbox: { name, address } };
}

/** Throws HeaderSettingError for the first of these values a header cannot take. */
export function checkHeaderValues(values: { displayName?: string; settings?: Partial<ListSettings> }): void {
  const { displayName, settings = {} } = values;
  if (displayName !== undefined) {
    const problem = controlProblem(displayName);
    if (problem !== null) throw new HeaderSettingError('displayName', problem);
  }
  if (settings.subjectPrefix !== undefined) {
    const problem = controlProblem(settings.subjectPrefix);
    if (problem !== null) throw new HeaderSettingError('subjectPrefix', problem);
  }
  if (settings.replyToAddress !== undefined && settings.replyToAddress !== '') {
    const parsed = parseReplyToAddress(settings.replyToAddress);
    if ('problem' in parsed) throw new HeaderSettingError('replyToAddress', parsed.problem);
  }
  for (const key of URL_KEYS) {
    const url = settings[key];
    if (url === undefined) continue;
    const problem = controlProblem(url);
    if (problem !== null) throw new HeaderSettingError(key, problem);
  }
}
