/**
 * Matching an address against ban patterns (src/mail/ban-pattern.ts says
 * what a pattern is and validates one with zod). Apart from the schema so
 * that code which only checks bans (subscriptions, the incoming chain) does
 * not load zod.
 */

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
