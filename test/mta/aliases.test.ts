/** `switchyard aliases` and the rewrite on `lists create` / `lists remove`: the files an MTA reads. */
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { makeHome, ROOT } from '../ingress/harness.js';
import { eximStanza } from '../../src/mta/exim.js';
import { postfixAvailable } from './postfix-instance.js';

let home: string;

beforeAll(async () => {
  home = await makeHome('[lmtp]\nhost = "0.0.0.0"\nport = 8125\n', ['dev@lists.example.org', 'ann@news.example.com']);
});

afterAll(async () => {
  await rm(home, { recursive: true, force: true });
});

describe('switchyard aliases', () => {
  it('writes the Postfix maps and the Exim stanza for every address of every list', async () => {
    const result = await runCli(['--home', home, 'aliases', '--json']);
    expect(result.code).toBe(0);
    const written = JSON.parse(result.stdout) as { files: string[]; lists: number; indexed: string[] };
    expect(written.lists).toBe(2);
    const lmtp = await readFile(join(home, 'postfix_lmtp'), 'utf8');
    for (const local of ['dev', 'dev-bounces', 'dev-confirm', 'dev-join', 'dev-leave', 'dev-owner', 'dev-request', 'dev-subscribe', 'dev-unsubscribe']) {
      expect(lmtp).toMatch(new RegExp(`^${local}@lists\\.example\\.org +lmtp:\\[127\\.0\\.0\\.1\\]:8125$`, 'm'));
    }
    expect(await readFile(join(home, 'postfix_pipe'), 'utf8')).toMatch(/^ann-bounces@news\.example\.com +switchyard:$/m);
    expect(await readFile(join(home, 'postfix_vmap'), 'utf8')).toMatch(/^dev-bounces@lists\.example\.org +dev-bounces@lists\.example\.org\.switchyard\.invalid$/m);
    expect(await readFile(join(home, 'postfix_pipe'), 'utf8')).toMatch(/^lists\.example\.org\.switchyard\.invalid +switchyard:$/m);
    expect((await readFile(join(home, 'postfix_domains'), 'utf8')).match(/^\S+ +\S+$/gm)?.map((row) => row.split(/ +/))).toEqual([
      ['lists.example.org', 'lists.example.org'],
      ['news.example.com', 'news.example.com'],
    ]);
    expect(await readFile(join(home, 'exim_switchyard_addresses'), 'utf8')).toMatch(/^dev-owner@lists\.example\.org:$/m);
    const exim = await readFile(join(home, 'exim_switchyard.conf'), 'utf8');
    expect(exim).toContain(`lsearch{${home}/exim_switchyard_addresses}`);
    // Checked by hand against Exim 4.96 (Debian's exim4 cannot be installed beside Postfix for CI):
    // the LMTP transport must keep the +suffix (VERP) in RCPT TO, and the pipe must not put tainted
    // data on its command line (Exim 4.94+ refuses it), so inject reads $RECIPIENT and $SENDER.
    expect(exim).toMatch(/^switchyard_lmtp:\n(?:  .*\n)*  rcpt_include_affixes = true\n/m);
    expect(exim).toMatch(/^  command = .* inject --home \S+ --from-env$/m);
    expect(exim).not.toMatch(/^  command = .*\$\{(local_part|sender_address|domain)/m);
    if (postfixAvailable()) expect(existsSync(join(home, 'postfix_lmtp.db'))).toBe(true);
  });

  it('[hosts] lmtp: every host of the site in order, in the Postfix transport (one list of destinations) and the Exim transport', async () => {
    const several = await makeHome('[hosts]\nlmtp = ["10.0.0.5:8024", "[2001:db8::6]:8025", "lmtp3.example.org:8024"]\n', ['dev@lists.example.org']);
    try {
      const result = await runCli(['--home', several, 'aliases']);
      expect(result.code, result.stderr).toBe(0);
      const lmtp = await readFile(join(several, 'postfix_lmtp'), 'utf8');
      expect(lmtp).toMatch(/^dev-bounces@lists\.example\.org +lmtp:\[10\.0\.0\.5\]:8024,\[ipv6:2001:db8::6\]:8025,\[lmtp3\.example\.org\]:8024$/m);
      const exim = await readFile(join(several, 'exim_switchyard.conf'), 'utf8');
      expect(exim).toMatch(/^switchyard_lmtp:\n(?:  .*\n)*  hosts = <; 10\.0\.0\.5:8024 ; \[2001:db8::6\]:8025 ; lmtp3\.example\.org:8024\n  hosts_randomize = false\n/m);
      expect(exim).not.toMatch(/^  port = /m);
    } finally {
      await rm(several, { recursive: true, force: true });
    }
  });

  it('refuses a [hosts] lmtp entry that is not host:port, naming it', async () => {
    const bad = await makeHome('[hosts]\nlmtp = ["10.0.0.5"]\n', []);
    try {
      const result = await runCli(['--home', bad, 'aliases']);
      expect(result.code).not.toBe(0);
      expect(result.stderr).toMatch(/hosts\.lmtp\.0/);
      expect(result.stderr).toContain('host:port');
    } finally {
      await rm(bad, { recursive: true, force: true });
    }
  });

  it('deploy/exim/switchyard.conf is the stanza `aliases` writes for /var/lib/switchyard', async () => {
    const stanza = eximStanza({ home: '/var/lib/switchyard', lmtpHost: '127.0.0.1', lmtpPort: 8024, command: '/usr/bin/node /usr/lib/node_modules/switchyard/dist/src/cli/main.js' });
    expect(await readFile(join(ROOT, 'deploy/exim/switchyard.conf'), 'utf8')).toBe(stanza);
  });

  it('rewrites them when a list is created or removed', async () => {
    expect((await runCli(['--home', home, 'lists', 'create', 'new@lists.example.org'])).code).toBe(0);
    expect(await readFile(join(home, 'postfix_lmtp'), 'utf8')).toMatch(/^new-request@lists\.example\.org /m);
    expect((await runCli(['--home', home, 'lists', 'remove', 'new@lists.example.org', '--yes'])).code).toBe(0);
    expect(await readFile(join(home, 'postfix_lmtp'), 'utf8')).not.toMatch(/^new/m);
  });

  it('fails with exit 1 naming postmap when it cannot index (the list change itself is kept)', async () => {
    const bad = await makeHome('[mta]\npostmapCommand = "/bin/false"\n', []);
    try {
      const result = await runCli(['--home', bad, 'lists', 'create', 'x@lists.example.org']);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/postmap could not index .*switchyard aliases/);
      expect(result.stderr).toMatch(/^switchyard: warning: SY_MTA_FILES_STALE: the MTA files were not rewritten/);
      expect((await runCli(['--home', bad, 'lists', 'list', '--json'])).stdout).toContain('x@lists.example.org');
    } finally {
      await rm(bad, { recursive: true, force: true });
    }
  });
});
