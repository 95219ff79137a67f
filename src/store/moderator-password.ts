/**
 * A list's moderator password, stored as `scrypt$SALT$HASH` (never the
 * password itself): hashing when it is set, checking an `Approved:` header
 * or a moderator's reply against it. Apart from list-settings.ts (zod), so
 * that the runners that check it load no schema.
 */
import { randomBytes, scrypt, scryptSync, timingSafeEqual } from 'node:crypto';
import type { ListSettings } from './list-settings.js';

export function hashModeratorPassword(password: string): string {
  const salt = randomBytes(16);
  return `scrypt$${salt.toString('hex')}$${scryptSync(password, salt, 32).toString('hex')}`;
}

/** For the posting chain's Approved: check. False when the list has no moderator password. */
export function verifyModeratorPassword(settings: Pick<ListSettings, 'moderatorPassword'>, candidate: string): boolean {
  const stored = settings.moderatorPassword;
  if (stored === null) return false;
  const [, saltHex, hashHex] = stored.split('$') as [string, string, string];
  const expected = Buffer.from(hashHex, 'hex');
  const actual = scryptSync(candidate, Buffer.from(saltHex, 'hex'), expected.length);
  return timingSafeEqual(expected, actual);
}

/**
 * verifyModeratorPassword without blocking the event loop (scrypt runs on
 * libuv's thread pool): what a runner uses, since anyone can put an
 * Approved: header on a post.
 */
export async function verifyModeratorPasswordAsync(settings: Pick<ListSettings, 'moderatorPassword'>, candidate: string): Promise<boolean> {
  const stored = settings.moderatorPassword;
  if (stored === null) return false;
  const [, saltHex, hashHex] = stored.split('$') as [string, string, string];
  const expected = Buffer.from(hashHex, 'hex');
  const actual = await new Promise<Buffer>((resolve, reject) =>
    scrypt(candidate, Buffer.from(saltHex, 'hex'), expected.length, (error, key) => (error ? reject(error) : resolve(key))),
  );
  return timingSafeEqual(expected, actual);
}
