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

// Re-exported for the modules that take both from here.
import { isBanned } from './ban-match.js';

export { isBanned };
