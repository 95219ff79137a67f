/**
 * The site secret (src/http/site-secret.ts) in a real home directory:
 * made once with mode 0600, tokens bound to their purpose and message,
 * rotation with a grace period, and a damaged file refused with its code.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rotateSiteSecret, SITE_SECRET_FILE, SiteSecretError, SiteSecrets } from '../../src/http/site-secret.js';
import { makeHome, removeHome, runCli, testConfig } from '../master/harness.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function tempHome(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sy-secret-'));
  dirs.push(dir);
  return dir;
}

const DAY = 86_400_000;

describe('SiteSecrets', () => {
  it('is made on first use with mode 0600 and read back the same by the next process', async () => {
    const home = await tempHome();
    const now = new Date('2026-12-01T00:00:00Z');
    const first = SiteSecrets.load(home, now);
    expect((await stat(join(home, SITE_SECRET_FILE))).mode & 0o777).toBe(0o600);
    const token = first.sign('unsubscribe', 'team@lists.example.org ann@example.org');
    expect(SiteSecrets.load(home, now).verify('unsubscribe', 'team@lists.example.org ann@example.org', token, now, DAY)).toBe(true);
  });

  it('a token is valid only for its own purpose and message, and a changed character fails', async () => {
    const secrets = SiteSecrets.load(await tempHome());
    const now = new Date();
    const token = secrets.sign('unsubscribe', 'team@lists.example.org ann@example.org');
    expect(secrets.verify('unsubscribe', 'team@lists.example.org bob@example.org', token, now, DAY)).toBe(false);
    expect(secrets.verify('login', 'team@lists.example.org ann@example.org', token, now, DAY)).toBe(false);
    const last = token.at(-1) === 'A' ? 'B' : 'A';
    expect(secrets.verify('unsubscribe', 'team@lists.example.org ann@example.org', token.slice(0, -1) + last, now, DAY)).toBe(false);
    expect(secrets.verify('unsubscribe', 'team@lists.example.org ann@example.org', 'garbage', now, DAY)).toBe(false);
  });

  it('another site (another secret) cannot make a valid token', async () => {
    const ours = SiteSecrets.load(await tempHome());
    const theirs = SiteSecrets.load(await tempHome());
    expect(ours.verify('unsubscribe', 'm', theirs.sign('unsubscribe', 'm'), new Date(), DAY)).toBe(false);
  });

  it('after rotation, old tokens verify during the grace period and not after it; new tokens use the new key', async () => {
    const home = await tempHome();
    const t0 = new Date('2026-12-01T00:00:00Z');
    const old = SiteSecrets.load(home, t0).sign('unsubscribe', 'm');
    const rotatedAt = new Date(t0.getTime() + DAY);
    const { id } = rotateSiteSecret(home, rotatedAt, 30 * DAY);
    const after = SiteSecrets.load(home, rotatedAt);
    expect(after.sign('unsubscribe', 'm').startsWith(`${id}.`)).toBe(true);
    expect(after.verify('unsubscribe', 'm', old, new Date(rotatedAt.getTime() + 29 * DAY), 30 * DAY)).toBe(true);
    expect(after.verify('unsubscribe', 'm', old, new Date(rotatedAt.getTime() + 31 * DAY), 30 * DAY)).toBe(false);
    // The cookie keys: the current one first (it signs), the retired one after it while in grace.
    expect(after.derived('cookie', rotatedAt, 30 * DAY)).toHaveLength(2);
    expect(after.derived('cookie', new Date(rotatedAt.getTime() + 31 * DAY), 30 * DAY)).toHaveLength(1);
    // A second rotation past the grace drops the first key from the file.
    const second = rotateSiteSecret(home, new Date(rotatedAt.getTime() + 40 * DAY), 30 * DAY);
    expect(second.dropped).toHaveLength(1);
    expect(JSON.parse(await readFile(join(home, SITE_SECRET_FILE), 'utf8')).keys).toHaveLength(2);
  });

  it('a damaged file is refused with SY_SITE_SECRET, never replaced silently', async () => {
    const home = await tempHome();
    await writeFile(join(home, SITE_SECRET_FILE), '{"keys": [{"id": "zz"}]}', { mode: 0o600 });
    expect(() => SiteSecrets.load(home)).toThrow(SiteSecretError);
    await writeFile(join(home, SITE_SECRET_FILE), 'not json', { mode: 0o600 });
    expect(() => SiteSecrets.load(home)).toThrow(/SY_SITE_SECRET|is not JSON/);
    expect(await readFile(join(home, SITE_SECRET_FILE), 'utf8')).toBe('not json');
  });
});

describe('switchyard secret rotate', () => {
  it('makes a new current key and says until when the old one works', async () => {
    const home = await makeHome(testConfig(''));
    try {
      const before = SiteSecrets.load(home).sign('unsubscribe', 'm');
      const result = await runCli(['--home', home, 'secret', 'rotate', '--json']);
      expect(result.code).toBe(0);
      const out = JSON.parse(result.stdout) as { key: string; oldKeysValidUntil: string };
      const after = SiteSecrets.load(home);
      expect(after.sign('unsubscribe', 'm').startsWith(`${out.key}.`)).toBe(true);
      expect(before.startsWith(`${out.key}.`)).toBe(false);
      // The default grace is 60 days.
      expect(Date.parse(out.oldKeysValidUntil) - Date.now()).toBeGreaterThan(59 * DAY);
      expect(after.verify('unsubscribe', 'm', before, new Date(), 60 * DAY)).toBe(true);
    } finally {
      await removeHome(home);
    }
  }, 60_000);
});
