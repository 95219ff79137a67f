/**
 * A strict parser for the body of a message/delivery-status part (RFC 3464
 * section 2): a group of per-message fields, then one group of
 * per-recipient fields per recipient, groups separated by blank lines,
 * fields in header syntax with folding.
 *
 * Strict means: each field is parsed by its grammar and a field that does
 * not follow it is reported in `problems` and ignored, rather than guessed
 * at; a recipient group with no usable recipient field or no usable Action
 * and Status is reported and skipped. The one deviation tolerated, because
 * MTAs in wide use emit it, is a recipient field without its address type
 * (`Final-Recipient: <user@example.org>`): it is read as rfc822.
 *
 * Which address a failure is about: Original-Recipient (the address the
 * list sent to, before forwarding or aliasing) when it is an rfc822 address,
 * else Final-Recipient. Whether it is permanent: Action decides (failed:
 * permanent, the MTA gave up; delayed: temporary, it is still trying;
 * delivered, relayed, expanded: no failure); without a valid Action, the
 * Status class decides (5: permanent, 4: temporary).
 */
import { cleanAddress } from './addresses.js';

export type DsnAction = 'failed' | 'delayed' | 'delivered' | 'relayed' | 'expanded';
const ACTIONS: readonly DsnAction[] = ['failed', 'delayed', 'delivered', 'relayed', 'expanded'];

export interface DsnAddress {
  /** Address type, lower case: rfc822, utf-8, x400, ... */
  type: string;
  address: string;
}

export interface DsnStatus {
  /** 2 success, 4 persistent transient failure, 5 permanent failure. */
  class: 2 | 4 | 5;
  code: string;
}

export interface DsnRecipient {
  finalRecipient?: DsnAddress;
  originalRecipient?: DsnAddress;
  action?: DsnAction;
  status?: DsnStatus;
  diagnosticCode?: string;
  remoteMta?: string;
}

export interface DeliveryStatus {
  reportingMta?: string;
  recipients: DsnRecipient[];
  /** Fields and groups that were ignored, and why: for `bounce-scan` and logs. */
  problems: string[];
}

export type Failure = 'permanent' | 'temporary';

interface Field {
  name: string;
  value: string;
}

/** Blank-line separated groups of unfolded fields. */
function fieldGroups(body: string, problems: string[]): Field[][] {
  const groups: Field[][] = [];
  let group: Field[] = [];
  let last: Field | undefined;
  for (const line of body.replace(/\r\n?/g, '\n').split('\n')) {
    if (line.trim() === '') {
      if (group.length > 0) groups.push(group);
      group = [];
      last = undefined;
      continue;
    }
    if (/^[ \t]/.test(line)) {
      if (last) last.value += ` ${line.trim()}`;
      else problems.push(`continuation line without a field: ${JSON.stringify(line.slice(0, 80))}`);
      continue;
    }
    const match = /^([!-9;-~]+)[ \t]*:(.*)$/.exec(line);
    if (!match) {
      problems.push(`not a field: ${JSON.stringify(line.slice(0, 80))}`);
      last = undefined;
      continue;
    }
    last = { name: (match[1] as string).toLowerCase(), value: (match[2] as string).trim() };
    group.push(last);
  }
  if (group.length > 0) groups.push(group);
  return groups;
}

/** Drop RFC 5322 comments, e.g. `failed (permanent)`. */
function withoutComments(value: string): string {
  return value.replace(/\([^()]*\)/g, ' ').trim();
}

/** `address-type ";" generic-address`, RFC 3464 2.3.2; `utf-8` addresses as in RFC 6533. */
function parseAddressField(name: string, value: string, problems: string[]): DsnAddress | undefined {
  const semicolon = value.indexOf(';');
  let type = 'rfc822';
  let text = value;
  if (semicolon >= 0) {
    type = value.slice(0, semicolon).trim().toLowerCase();
    text = value.slice(semicolon + 1);
    if (!/^[a-z0-9][a-z0-9.+-]*$/.test(type)) {
      problems.push(`${name}: bad address type ${JSON.stringify(type)}`);
      return undefined;
    }
  }
  if (type === 'utf-8') text = text.replace(/\\x\{([0-9A-Fa-f]{1,6})\}/g, (_, hex: string) => String.fromCodePoint(Number.parseInt(hex, 16)));
  if (type !== 'rfc822' && type !== 'utf-8') return { type, address: text.trim() };
  const address = cleanAddress(withoutComments(text));
  if (address === undefined) {
    problems.push(`${name}: not an address: ${JSON.stringify(text.trim().slice(0, 80))}`);
    return undefined;
  }
  return { type, address };
}

/** `status-code = DIGIT "." 1*3DIGIT "." 1*3DIGIT`, class 2, 4 or 5 (RFC 3463). */
function parseStatus(value: string, problems: string[]): DsnStatus | undefined {
  const match = /^([245])\.(\d{1,3})\.(\d{1,3})(?:\s|\(|$)/.exec(value);
  if (!match) {
    problems.push(`Status: not a status code: ${JSON.stringify(value.slice(0, 40))}`);
    return undefined;
  }
  return { class: Number(match[1]) as 2 | 4 | 5, code: `${match[1]}.${match[2]}.${match[3]}` };
}

function parseAction(value: string, problems: string[]): DsnAction | undefined {
  const action = withoutComments(value).toLowerCase();
  if ((ACTIONS as readonly string[]).includes(action)) return action as DsnAction;
  problems.push(`Action: not one of ${ACTIONS.join(', ')}: ${JSON.stringify(value.slice(0, 40))}`);
  return undefined;
}

function parseRecipient(group: Field[], problems: string[]): DsnRecipient {
  const recipient: DsnRecipient = {};
  for (const { name, value } of group) {
    switch (name) {
      case 'final-recipient': {
        const address = parseAddressField('Final-Recipient', value, problems);
        if (address) recipient.finalRecipient = address;
        break;
      }
      case 'original-recipient': {
        const address = parseAddressField('Original-Recipient', value, problems);
        if (address) recipient.originalRecipient = address;
        break;
      }
      case 'action': {
        const action = parseAction(value, problems);
        if (action) recipient.action = action;
        break;
      }
      case 'status': {
        const status = parseStatus(value, problems);
        if (status) recipient.status = status;
        break;
      }
      case 'diagnostic-code':
        recipient.diagnosticCode = value;
        break;
      case 'remote-mta':
        recipient.remoteMta = value;
        break;
      default:
        break;
    }
  }
  return recipient;
}

export function parseDeliveryStatus(body: string): DeliveryStatus {
  const problems: string[] = [];
  const groups = fieldGroups(body, problems);
  const result: DeliveryStatus = { recipients: [], problems };
  for (const group of groups) {
    const isRecipientGroup = group.some((field) => field.name === 'final-recipient' || field.name === 'original-recipient' || field.name === 'action');
    if (!isRecipientGroup) {
      // The per-message group (or an MTA's extension group): only Reporting-MTA interests us.
      const reporting = group.find((field) => field.name === 'reporting-mta');
      if (reporting && result.reportingMta === undefined) result.reportingMta = reporting.value;
      continue;
    }
    result.recipients.push(parseRecipient(group, problems));
  }
  return result;
}

/** The address a recipient group is about (see the module comment). */
export function recipientAddress(recipient: DsnRecipient): string | undefined {
  const original = recipient.originalRecipient;
  if (original && original.type === 'rfc822') return original.address;
  const final = recipient.finalRecipient;
  if (final && (final.type === 'rfc822' || final.type === 'utf-8')) return final.address;
  if (original && original.type === 'utf-8') return original.address;
  return undefined;
}

/** Whether a recipient group reports a failure, and of which kind (see the module comment). */
export function recipientFailure(recipient: DsnRecipient): Failure | undefined {
  switch (recipient.action) {
    case 'failed':
      return 'permanent';
    case 'delayed':
      return 'temporary';
    case 'delivered':
    case 'relayed':
    case 'expanded':
      return undefined;
    default:
      if (recipient.status?.class === 5) return 'permanent';
      if (recipient.status?.class === 4) return 'temporary';
      return undefined;
  }
}

const parsedOnce = new WeakMap<object, DeliveryStatus[]>();

/**
 * The parsed delivery-status parts of `message` (its `deliveryStatus`
 * bodies), parsed once per message: the success check, the DSN detector and
 * the recipient facts all read them.
 */
export function deliveryStatusesOf(message: { readonly deliveryStatus: readonly string[] }): DeliveryStatus[] {
  let parsed = parsedOnce.get(message);
  if (parsed === undefined) {
    parsed = message.deliveryStatus.map((body) => parseDeliveryStatus(body));
    parsedOnce.set(message, parsed);
  }
  return parsed;
}
