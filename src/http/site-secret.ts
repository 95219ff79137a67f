/**
 * The site secret: the keys behind every token the HTTP service hands out
 * that must not be guessable or forged: the per-recipient one-click
 * unsubscribe links in mail (RFC 8058), login links, the signed session
 * cookies and CSRF tokens. One file in the home, `<home>/site-secret.json`,
 * mode 0600, created on first use.
 *
 * Rotation (`rotateSiteSecret`) makes a new current key and keeps the old
 * ones, marked retired, for a grace period: tokens signed with a retired key
 * still verify until the grace ends (a one-click link in a mail read a week
 * later still works), then the key is dropped and its tokens are refused.
 *
 * Files: written to a temporary file (0600, fsynced) then linked into place
 * when new (two processes creating it at once: the second reads the first's)
 * or renamed over the old one on rotation; a crash leaves the old file or
 * the new, never half of one.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { SwitchyardError } from '../errors.js';

export const SITE_SECRET_FILE = 'site-secret.json';

export class SiteSecretError extends SwitchyardError {
  constructor(file: string, why: string, cause?: unknown) {
    super('SY_SITE_SECRET', `the site secret ${file} ${why}; move it aside and restart to make a new one (links already sent stop working)`, { cause });
  }
}

interface StoredKey {
  id: string;
  /** base64 of 32 random bytes. */
  secret: string;
  createdAt: string;
  /** When a newer key replaced it; null for the current key. */
  retiredAt: string | null;
}

interface StoredSecrets {
  keys: StoredKey[];
}

function newKey(now: Date): StoredKey {
  return { id: randomBytes(4).toString('hex'), secret: randomBytes(32).toString('base64'), createdAt: now.toISOString(), retiredAt: null };
}

function parse(file: string, text: string): StoredSecrets {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new SiteSecretError(file, 'is not JSON', error);
  }
  const keys = (data as { keys?: unknown }).keys;
  const valid =
    Array.isArray(keys) &&
    keys.length > 0 &&
    keys.every((key: Partial<StoredKey>) => typeof key.id === 'string' && /^[0-9a-f]{8}$/.test(key.id) && typeof key.secret === 'string' && Buffer.from(key.secret, 'base64').length === 32 && typeof key.createdAt === 'string' && (key.retiredAt === null || typeof key.retiredAt === 'string')) &&
    keys.filter((key: StoredKey) => key.retiredAt === null).length === 1;
  if (!valid) throw new SiteSecretError(file, 'does not hold one current key of 32 bytes and its retired ones');
  return { keys: keys as StoredKey[] };
}

function writeTemp(file: string, secrets: StoredSecrets): string {
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  // The mode applies as the file is made: no moment with a wider one.
  const fd = openSync(temp, 'wx', 0o600);
  try {
    writeSync(fd, `${JSON.stringify(secrets, null, 2)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return temp;
}

function readOrCreate(file: string, now: Date): StoredSecrets {
  try {
    return parse(file, readFileSync(file, 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      if (error instanceof SiteSecretError) throw error;
      throw new SiteSecretError(file, `cannot be read (${(error as Error).message})`, error);
    }
  }
  const secrets: StoredSecrets = { keys: [newKey(now)] };
  const temp = writeTemp(file, secrets);
  try {
    linkSync(temp, file);
    return secrets;
  } catch (error) {
    // Another process made it first: theirs is the one.
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return parse(file, readFileSync(file, 'utf8'));
    throw new SiteSecretError(file, `cannot be created (${(error as Error).message})`, error);
  } finally {
    unlinkSync(temp);
  }
}

/** The keys of a site, and signing and checking with them. */
export class SiteSecrets {
  private constructor(private readonly keys: readonly StoredKey[]) {}

  /** The secrets of a home, made on first use. */
  static load(home: string, now: Date = new Date()): SiteSecrets {
    return new SiteSecrets(readOrCreate(join(home, SITE_SECRET_FILE), now).keys);
  }

  /** Secrets from given keys (tests of other modules). */
  static fromBytes(keys: readonly { id: string; secret: Buffer; retiredAt?: Date }[]): SiteSecrets {
    return new SiteSecrets(keys.map((key) => ({ id: key.id, secret: key.secret.toString('base64'), createdAt: new Date(0).toISOString(), retiredAt: key.retiredAt?.toISOString() ?? null })));
  }

  private get current(): StoredKey {
    return this.keys.find((key) => key.retiredAt === null) as StoredKey;
  }

  private usable(now: Date, graceMs: number): StoredKey[] {
    return this.keys.filter((key) => key.retiredAt === null || now.getTime() - Date.parse(key.retiredAt) < graceMs);
  }

  /**
   * A key derived for one purpose ('cookie', 'unsubscribe', ...), so that a
   * token made for one use is never accepted for another. Current first,
   * then the retired ones still in their grace: @fastify/cookie's `secret`
   * array signs with the first and accepts all.
   */
  derived(purpose: string, now: Date, graceMs: number): Buffer[] {
    return this.usable(now, graceMs).sort((a, b) => Number(b.retiredAt === null) - Number(a.retiredAt === null)).map((key) => createHmac('sha256', Buffer.from(key.secret, 'base64')).update(`switchyard:${purpose}`).digest());
  }

  /** `keyid.mac`: an unguessable token binding `message` for `purpose` (base64url, 16 bytes of HMAC-SHA256). */
  sign(purpose: string, message: string): string {
    const key = this.current;
    return `${key.id}.${mac(key, purpose, message)}`;
  }

  /** Whether `token` was made by sign(purpose, message) with the current key or one retired less than `graceMs` ago. */
  verify(purpose: string, message: string, token: string, now: Date, graceMs: number): boolean {
    const match = /^([0-9a-f]{8})\.([A-Za-z0-9_-]{22})$/.exec(token);
    if (match === null) return false;
    const key = this.usable(now, graceMs).find((candidate) => candidate.id === match[1]);
    if (key === undefined) return false;
    const expected = Buffer.from(mac(key, purpose, message));
    const given = Buffer.from(match[2] as string);
    return expected.length === given.length && timingSafeEqual(expected, given);
  }
}

function mac(key: StoredKey, purpose: string, message: string): string {
  // The purpose and the message are separated by a NUL, which neither holds: no two (purpose, message) pairs sign the same bytes.
  return createHmac('sha256', Buffer.from(key.secret, 'base64')).update(`${purpose}\0${message}`).digest().subarray(0, 16).toString('base64url');
}

/**
 * A new current key; the old current one is retired now and kept for
 * `graceMs`; keys retired longer ago than that are dropped. Returns the new
 * key's id.
 */
export function rotateSiteSecret(home: string, now: Date, graceMs: number): { id: string; dropped: string[] } {
  const file = join(home, SITE_SECRET_FILE);
  const old = readOrCreate(file, now);
  const kept: StoredKey[] = [];
  const dropped: string[] = [];
  for (const key of old.keys) {
    const retiredAt = key.retiredAt ?? now.toISOString();
    if (now.getTime() - Date.parse(retiredAt) < graceMs || key.retiredAt === null) kept.push({ ...key, retiredAt });
    else dropped.push(key.id);
  }
  const fresh = newKey(now);
  const temp = writeTemp(file, { keys: [fresh, ...kept] });
  renameSync(temp, file);
  return { id: fresh.id, dropped };
}
