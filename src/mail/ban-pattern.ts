/**
 * Ban patterns (Mailman's ban list): an address, matched case-insensitively,
 * or a `^regular expression` matched against the whole address. Used by a
 * list's bannedAddresses and by the site-wide [membership] bans of
 * switchyard.toml; here rather than in the store so that validating the
 * configuration (the master does it) loads no store module.
 */
import { z } from 'zod';

/** A ban (Mailman's ban list): an address, matched case-insensitively, or a `^regex` matched against the whole address. */
export const banPattern = z.string().min(1).refine(
  (pattern) => {
    if (!pattern.startsWith('^')) return /^[^\s@]+@[^\s@]+$/.test(pattern);
    try {
      new RegExp(pattern, 'i');
      return true;
    } catch {
      return false;
    }
  },
  { message: 'a ban is an address or a ^regular expression' },
);

/** Whether `address` matches one of `bans` (addresses case-insensitively, `^regex` patterns against the whole address). */
export function isBanned(address: string, bans: readonly string[]): string | null {
  const lower = address.toLowerCase();
  for (const ban of bans) {
    if (ban.startsWith('^')) {
      try {
        if (new RegExp(ban, 'i').test(address)) return ban;
      } catch {
        // Validated when set; an old stored pattern that no longer compiles bans nobody.
      }
    } else if (ban.toLowerCase() === lower) return ban;
  }
  return null;
}
