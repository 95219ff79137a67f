/**
 * `switchyard dkim keygen` and `switchyard dkim check`, the built CLI: the
 * key file (mode 0600, never overwritten without --force), the TXT record
 * printed (255-byte strings, the public key of the file), and the check of
 * the published record against a DNS responder on 127.0.0.1
 * (test/fixtures/dns-responder.ts, named in `[dns] servers`): match (exit 0),
 * a different key, a missing record (exit 1, with the reason).
 */
import { createPrivateKey } from 'node:crypto';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publicKeyValue } from '../../src/mail/dkim/keys.js';
import { DnsResponder } from '../fixtures/dns-responder.js';
import { runCli, runHomeCliInProcess } from '../support/cli.js';

const TIMEOUT = 60_000;
let home: string;
let dns: DnsResponder;

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'switchyard-dkim-cli-'));
  dns = await DnsResponder.start();
});
afterAll(async () => {
  await dns.close();
  await rm(home, { recursive: true, force: true });
});

interface Generated {
  file: string;
  selector: string;
  record: { name: string; text: string; strings: string[]; zoneLine: string };
  config: string;
}

/**
 * `dkim keygen ARGS --json`, which must succeed: in this process (program.ts run(), what the binary runs:
 * the same exit code and output) without a node start-up each, unless `real`. The built binary itself runs
 * for the first key, the text output, each exit code and each form of `dkim check`'s report.
 */
async function keygen(args: string[], real = false): Promise<Generated> {
  const result = await (real ? runCli(['--home', home, 'dkim', 'keygen', ...args, '--json']) : runHomeCliInProcess(home, ['dkim', 'keygen', ...args, '--json']));
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as Generated;
}

describe('switchyard dkim keygen', () => {
  it('writes an RSA 2048 key with mode 0600 and prints the TXT record of its public key, in 255-byte strings, and the config lines', async () => {
    const key = await keygen(['example.org', '--selector', 'r2026'], true);
    expect(key.file).toBe(join(home, 'dkim', 'example.org.r2026.pem'));
    expect((await stat(key.file)).mode & 0o777).toBe(0o600);
    const { readFile } = await import('node:fs/promises');
    const privateKey = createPrivateKey(await readFile(key.file, 'utf8'));
    expect(privateKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
    expect(key.record.name).toBe('r2026._domainkey.example.org');
    expect(key.record.text).toBe(`v=DKIM1; k=rsa; p=${publicKeyValue(privateKey)}`);
    expect(key.record.strings.length).toBeGreaterThan(1);
    expect(key.record.strings.every((s) => Buffer.byteLength(s) <= 255)).toBe(true);
    expect(key.record.strings.join('')).toBe(key.record.text);
    expect(key.record.zoneLine).toMatch(/^r2026\._domainkey\.example\.org\. IN TXT \( "v=DKIM1; k=rsa; p=[^"]+" "[^"]+" \)$/);
    expect(key.config).toBe('[dkim.domains."example.org"]\nselector = "r2026"\nkeys = ["dkim/example.org.r2026.pem"]');
    const text = await runCli(['--home', home, 'dkim', 'keygen', 'example.org', '--selector', 'text1']);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('text1._domainkey.example.org. IN TXT ( "v=DKIM1; k=rsa; p=');
  }, TIMEOUT);

  it('an Ed25519 key: k=ed25519 and the raw 32-byte public key (RFC 8463), one string', async () => {
    const key = await keygen(['example.org', '--type', 'ed25519', '--selector', 'e2026']);
    expect((await stat(key.file)).mode & 0o777).toBe(0o600);
    expect(key.record.text).toMatch(/^v=DKIM1; k=ed25519; p=[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(key.record.text.split('p=')[1]!, 'base64')).toHaveLength(32);
    expect(key.record.strings).toHaveLength(1);
  }, TIMEOUT);

  it('never overwrites an existing key without --force (exit 1, the file unchanged); with --force it does, still 0600', async () => {
    const first = await keygen(['example.net', '--selector', 'keep']);
    const { readFile } = await import('node:fs/promises');
    const before = await readFile(first.file, 'utf8');
    const again = await runCli(['--home', home, 'dkim', 'keygen', 'example.net', '--selector', 'keep']);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/exists already; pass --force/);
    expect(await readFile(first.file, 'utf8')).toBe(before);
    const forced = await keygen(['example.net', '--selector', 'keep', '--force']);
    expect(await readFile(forced.file, 'utf8')).not.toBe(before);
    expect((await stat(forced.file)).mode & 0o777).toBe(0o600);
  }, TIMEOUT);

  it('refuses a bad domain or selector with exit 2', async () => {
    expect((await runCli(['--home', home, 'dkim', 'keygen', 'not_a domain'])).code).toBe(2);
    expect((await runHomeCliInProcess(home, ['dkim', 'keygen', 'example.org', '--selector', 'bad selector'])).code).toBe(2);
  }, TIMEOUT);
});

describe('switchyard dkim check (against a DNS responder on 127.0.0.1)', () => {
  it('exit 0 when each configured key\'s record matches; 1 naming the reason for a different key or a missing record', async () => {
    const rsa = await keygen(['lists.example.com', '--selector', 'r1']);
    const ed = await keygen(['lists.example.com', '--selector', 'e1', '--type', 'ed25519']);
    const other = await keygen(['lists.example.com', '--selector', 'other']);
    await writeFile(
      join(home, 'switchyard.toml'),
      `[dns]\nservers = ["${dns.server}"]\ntimeout = "2s"\n\n[dkim.domains."lists.example.com"]\nselector = "r1"\nkeys = ["dkim/lists.example.com.r1.pem", { file = "dkim/lists.example.com.e1.pem", selector = "e1" }]\n`,
    );
    // Published as a zone would hold them (the RSA record in several strings).
    dns.set(rsa.record.name, rsa.record.text);
    dns.set(ed.record.name, ed.record.text);
    const ok = await runCli(['--home', home, 'dkim', 'check', 'lists.example.com', '--json']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ domain: 'lists.example.com', match: true, keys: [{ status: 'match', selector: 'r1' }, { status: 'match', selector: 'e1' }] });
    expect(dns.queries).toEqual(expect.arrayContaining(['r1._domainkey.lists.example.com', 'e1._domainkey.lists.example.com']));

    // The RSA name publishes another key: mismatch, exit 1, the record to publish shown.
    dns.set(rsa.record.name, other.record.text);
    const wrong = await runCli(['--home', home, 'dkim', 'check', 'lists.example.com']);
    expect(wrong.code).toBe(1);
    expect(wrong.stdout).toMatch(/MISMATCH {2}r1\._domainkey\.lists\.example\.com .*not that of/);
    expect(wrong.stdout).toContain(`publish: r1._domainkey.lists.example.com. IN TXT "${rsa.record.text}"`);
    expect(wrong.stdout).toMatch(/ok {2}e1\._domainkey/);
    expect(wrong.stderr).toMatch(/SY_DKIM_RECORD/);

    // No record at all: missing.
    dns.records.delete(ed.record.name);
    dns.set(rsa.record.name, rsa.record.text);
    const missing = await runHomeCliInProcess(home, ['dkim', 'check', 'lists.example.com', '--json']);
    expect(missing.code).toBe(1);
    expect(JSON.parse(missing.stdout)).toMatchObject({ match: false, keys: [{ status: 'match' }, { status: 'missing', reason: 'no TXT record at e1._domainkey.lists.example.com' }] });

    // A domain not in [dkim]: exit 1, saying so.
    const unknown = await runHomeCliInProcess(home, ['dkim', 'check', 'example.org']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/no \[dkim\.domains\."example\.org"\]/);
  }, TIMEOUT);
});
