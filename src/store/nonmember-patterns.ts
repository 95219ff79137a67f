/**
 * The entries of a list's acceptTheseNonmembers, holdTheseNonmembers,
 * rejectTheseNonmembers and discardTheseNonmembers (Mailman's
 * accept_these_nonmembers ...): an address, matched case-insensitively as a
 * whole, or a regular expression starting with `^`, matched
 * case-insensitively against the poster's address.
 *
 * A pattern comes from an operator but runs on every post from a
 * non-member, and JavaScript has no time limit for a regular expression. So
 * a pattern is checked when it is set (nonmemberPatternProblem) and refused
 * when it could take exponential time: longer than MAX_PATTERN_LENGTH, or
 * with a repeated group that itself repeats or alternates (`(a+)+`,
 * `(a|ab)*`), the shapes behind catastrophic backtracking. It is only ever
 * tested against an address (at most 254 characters, parsed by the store),
 * never against a message.
 */
import { addressProblem, parseAddress } from './address.js';

export const MAX_PATTERN_LENGTH = 200;
/** Longer input than any valid address is never tested (the store refuses such addresses anyway). */
const MAX_ADDRESS_LENGTH = 320;

/** Whether `source[at]` starts a quantifier that repeats more than once: `*`, `+`, `{n,}`, `{n,m}` with m > 1, `{n}` with n > 1. */
function repeatsAt(source: string, at: number): boolean {
  const c = source[at];
  if (c === '*' || c === '+') return true;
  if (c !== '{') return false;
  const braces = /^\{(\d+)(,(\d*))?\}/.exec(source.slice(at));
  if (braces === null) return false;
  if (braces[2] === undefined) return Number(braces[1]) > 1;
  return braces[3] === '' || Number(braces[3]) > 1;
}

/** True when a repeated group holds a repetition or an alternation: the star height that makes backtracking exponential. */
function hasNestedRepetition(source: string): boolean {
  // Per open group: whether it holds a repeat or an alternation so far.
  const groups: boolean[] = [];
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === '\\') {
      i++;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      continue;
    }
    if (c === '[') {
      inClass = true;
      continue;
    }
    if (c === '(') {
      groups.push(false);
      continue;
    }
    if (c === ')') {
      const inner = groups.pop() ?? false;
      const repeated = repeatsAt(source, i + 1);
      if (inner && repeated) return true;
      if ((inner || repeated) && groups.length > 0) groups[groups.length - 1] = true;
      continue;
    }
    if ((c === '|' || repeatsAt(source, i)) && groups.length > 0) groups[groups.length - 1] = true;
  }
  return false;
}

/** Why `pattern` cannot be a nonmember pattern, or null when it can. */
export function nonmemberPatternProblem(pattern: string): string | null {
  if (pattern.length === 0) return 'an empty pattern';
  if (!pattern.startsWith('^')) {
    const problem = addressProblem(pattern);
    return problem === null ? null : `${JSON.stringify(pattern)} is neither an address (${problem}) nor a regular expression starting with ^`;
  }
  if (pattern.length > MAX_PATTERN_LENGTH) return `the regular expression is ${pattern.length} characters long; at most ${MAX_PATTERN_LENGTH}`;
  try {
    new RegExp(pattern, 'i');
  } catch (error) {
    return `${JSON.stringify(pattern)} is not a valid regular expression: ${(error as Error).message}`;
  }
  if (hasNestedRepetition(pattern)) {
    return `${JSON.stringify(pattern)} repeats a group that itself repeats or alternates (such as (a+)+ or (a|b)*), which can take exponential time; write it without`;
  }
  return null;
}

/** The form a pattern is stored in: an address as the store writes it (domain lower case), a regular expression as given. */
export function normaliseNonmemberPattern(pattern: string): string {
  return pattern.startsWith('^') ? pattern : parseAddress(pattern).address;
}

/** Whether the poster's `address` matches the (valid) `pattern`. */
export function matchesNonmemberPattern(pattern: string, address: string): boolean {
  if (address.length > MAX_ADDRESS_LENGTH) return false;
  if (!pattern.startsWith('^')) return pattern.toLowerCase() === address.toLowerCase();
  try {
    return new RegExp(pattern, 'i').test(address);
  } catch {
    // Stored before the check existed, or by a newer switchyard: never matches, never throws on a post.
    return false;
  }
}
