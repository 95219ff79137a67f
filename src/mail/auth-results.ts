/**
 * Reading the trace fields the incoming runner's verification needs, and
 * writing its Authentication-Results (RFC 8601):
 *
 * - authservIdOf: the authserv-id an Authentication-Results value opens with;
 * - withoutResultsOf: the message without the Authentication-Results fields
 *   carrying an authserv-id (ours: anything upstream claiming our name is a
 *   forgery, RFC 8601 5);
 * - trustedSpfResult: the spf= result of the topmost Authentication-Results
 *   of a trusted upstream authserv-id (the MTA saw the SMTP client; we see
 *   only the MTA over LMTP);
 * - receivedClient: the client HELO and IP of the topmost Received field
 *   (the MTA's record of who handed it the post), the SPF input otherwise.
 */
import type { RawMessage } from './raw-message.js';

/** The value with (nested) comments taken out. */
function withoutComments(value: string): string {
  let out = '';
  let depth = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (c === '\\' && depth > 0) {
      i++;
      continue;
    }
    if (c === '(') depth++;
    else if (c === ')' && depth > 0) depth--;
    else if (depth === 0) out += c;
  }
  return out;
}

/** The authserv-id of an Authentication-Results value, lower-cased; '' when none. */
export function authservIdOf(value: string): string {
  const first = withoutComments(value).split(';')[0] ?? '';
  return (first.trim().split(/\s+/)[0] ?? '').replace(/^"(.*)"$/, '$1').toLowerCase();
}

/** The message without the Authentication-Results fields of `authservId`, and how many were taken out. */
export function withoutResultsOf(message: RawMessage, authservId: string): { message: RawMessage; removed: number } {
  const id = authservId.toLowerCase();
  let removed = 0;
  const kept = message.fields.filter((field) => {
    if (field.key !== 'authentication-results') return true;
    const colon = field.raw.indexOf(0x3a);
    const value = field.raw.subarray(colon + 1).toString('latin1').replace(/\r?\n[ \t]/g, ' ');
    if (authservIdOf(value) !== id) return true;
    removed++;
    return false;
  });
  return { message: removed === 0 ? message : message.withFields(kept), removed };
}

export interface TrustedSpf {
  result: string;
  /** smtp.mailfrom's domain (or the address as given), if stated. */
  mailfrom?: string;
}

const SPF_RESULTS = new Set(['none', 'neutral', 'pass', 'fail', 'softfail', 'temperror', 'permerror']);

/** The spf= result of the topmost Authentication-Results of `trustedId`, if it has one. */
export function trustedSpfResult(message: RawMessage, trustedId: string): TrustedSpf | undefined {
  if (trustedId === '') return undefined;
  const id = trustedId.toLowerCase();
  const value = message.getAll('authentication-results').find((candidate) => authservIdOf(candidate) === id);
  if (value === undefined) return undefined;
  for (const resinfo of withoutComments(value).split(';').slice(1)) {
    const match = /^\s*spf\s*=\s*([a-z]+)\b(.*)$/i.exec(resinfo);
    if (match === null) continue;
    const result = match[1]!.toLowerCase();
    if (!SPF_RESULTS.has(result)) return undefined;
    const mailfrom = /\bsmtp\.mailfrom\s*=\s*"?([^\s";]+)/i.exec(match[2]!)?.[1];
    return mailfrom === undefined ? { result } : { result, mailfrom };
  }
  return undefined;
}

export interface ReceivedClient {
  helo?: string;
  ip?: string;
}

/** HELO name and client IP from the topmost Received (`from HELO (rdns [IP])`), as Postfix, Exim and Sendmail write it. */
export function receivedClient(message: RawMessage): ReceivedClient {
  const top = message.get('received');
  if (top === undefined) return {};
  const from = /^\s*from\s+(\S+)\s*(\(([^)]*)\))?/i.exec(top);
  if (from === null) return {};
  const ip = /\[(?:IPv6:)?([0-9a-fA-F:.]+)\]/.exec(from[3] ?? '')?.[1] ?? /^\[(?:IPv6:)?([0-9a-fA-F:.]+)\]$/.exec(from[1]!)?.[1];
  const helo = from[1]!.startsWith('[') ? undefined : from[1]!;
  return { ...(helo === undefined ? {} : { helo }), ...(ip === undefined ? {} : { ip }) };
}
