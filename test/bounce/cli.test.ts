/**
 * `switchyard bounce-scan`, `switchyard bounces` and `switchyard members
 * enable` as operators run them: the built binary, a temp home with a real
 * store, the corpus files on disk. Assumes `tsc` has run.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Spool } from '../../queues/index.js';
import { applyBounce } from '../../src/bounce/processor.js';
import { openStore } from '../../src/store/index.js';
import { runCli, type CliResult } from '../support/cli.js';
import { CORPUS_DIR } from './corpus.js';

const LIST = 'dev@lists.example.org';
let home: string;

function sy(...args: string[]): Promise<CliResult> {
  return runCli(['--home', home, ...args]);
}

beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'switchyard-bounce-cli-'));
});

afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

describe('switchyard bounce-scan', () => {
  it('prints one JSON line per file: permanent, temporary, detector, and per recipient the reason, status and reply', async () => {
    const result = await runCli(['bounce-scan', '--json', join(CORPUS_DIR, 'dsn-sendmail-two-recipients.eml'), join(CORPUS_DIR, 'autoreply-rfc3834.eml')]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines).toEqual([
      {
        file: join(CORPUS_DIR, 'dsn-sendmail-two-recipients.eml'),
        permanent: ['dora@example.edu'],
        temporary: ['ed@physics.example.edu'],
        recipients: [
          { address: 'dora@example.edu', permanent: true, reason: 'userunknown', status: '5.1.1', reply: '550', replyText: '550 5.1.1 <dora@example.edu>... User unknown' },
          { address: 'ed@physics.example.edu', permanent: false, reason: 'expired', status: '4.4.7' },
        ],
        detector: 'dsn',
      },
      { file: join(CORPUS_DIR, 'autoreply-rfc3834.eml'), permanent: [], temporary: [], recipients: [], detector: null, notBounce: 'auto-reply' },
    ]);
  });

  it('decodes VERP with --envelope-recipient, reads stdin for -, and exits 1 for a missing file', async () => {
    const verp = await runCli(['bounce-scan', '--envelope-recipient', 'dev-bounces+celia=intranet.example.com@lists.example.org', join(CORPUS_DIR, 'verp-unrecognised.eml')]);
    expect(JSON.parse(verp.stdout)).toMatchObject({ permanent: ['celia@intranet.example.com'], detector: 'verp' });
    const stdin = await runCli(['bounce-scan', '-'], {}, 'From: MAILER-DAEMON@x.example\nSubject: failure notice\n\nHi. This is the qmail-send program at x.example.\n\n<q@x.example>:\nNo mailbox.\n');
    expect(JSON.parse(stdin.stdout)).toMatchObject({ file: '-', permanent: ['q@x.example'], detector: 'qmail' });
    const missing = await runCli(['bounce-scan', join(home, 'nope.eml')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no such file');
  });
});

describe('switchyard bounces and members enable', () => {
  it('shows scores and states, and members enable re-enables with the score reset', async () => {
    const store = openStore(home);
    await store.createList({ address: LIST });
    await store.addMembers(LIST, [{ address: 'anne@example.org' }, { address: 'bob@example.org' }, { address: 'quiet@example.org' }]);
    const list = await store.updateList(LIST, { settings: { bounceScoreThreshold: 2 } });
    const at = new Date();
    await applyBounce(store, list, { address: 'anne@example.org', permanent: true, at: new Date(at.getTime() - 86_400_000), source: 's1' });
    await applyBounce(store, list, { address: 'anne@example.org', permanent: true, at, source: 's2' });
    await applyBounce(store, list, { address: 'bob@example.org', permanent: false, at, source: 's3' });
    await store.close();

    const shown = await sy('bounces', LIST, '--json');
    expect(shown.code).toBe(0);
    const report = JSON.parse(shown.stdout) as { members: Array<{ address: string; score: number; state: string; lastBounceAt: string }> };
    expect(report.members.map((m) => [m.address, m.score, m.state])).toEqual([
      ['anne@example.org', 2, 'disabled by bounces (reminders 0/3)'],
      ['bob@example.org', 0.5, 'enabled'],
    ]);
    const table = await sy('bounces', LIST);
    expect(table.stdout).toMatch(/^ADDRESS\s+SCORE\s+LAST BOUNCE\s+LAST REASON\s+STATE\n/);
    expect(table.stdout).toContain('disabled by bounces');

    const enabled = await sy('members', 'enable', LIST, 'anne@example.org');
    expect(enabled.code).toBe(0);
    expect(enabled.stdout).toBe(`delivery to anne@example.org on ${LIST} enabled, bounce score reset\n`);
    const after = JSON.parse((await sy('bounces', LIST, '--json', '--all')).stdout) as typeof report;
    expect(after.members.map((m) => [m.address, m.score, m.state])).toEqual([
      ['anne@example.org', 0, 'enabled'],
      ['bob@example.org', 0.5, 'enabled'],
      ['quiet@example.org', 0, 'enabled'],
    ]);
    expect((await sy('members', 'enable', LIST, 'nobody@example.org')).code).toBe(1);

    // A destination refusing the list: its 24-hour count beside the total, in the table and in --json.
    const again = openStore(home);
    const refused = await again.getList(LIST);
    await applyBounce(again, refused, { address: 'x@gmail.com', permanent: true, at: new Date(at.getTime() - 2 * 86_400_000), source: 'r0', reason: 'blocked', replyText: '550 5.7.1 blocklisted' });
    for (let i = 1; i <= 2; i++) await applyBounce(again, refused, { address: `y${i}@gmail.com`, permanent: true, at, source: `r${i}`, reason: 'blocked', replyText: '550 5.7.1 blocklisted' });
    await again.close();
    const domains = JSON.parse((await sy('bounces', LIST, '--json')).stdout) as { domains: Array<{ domain: string; count: number; last24h: number }> };
    expect(domains.domains.map((d) => [d.domain, d.count, d.last24h])).toEqual([['gmail.com', 3, 2]]);
    expect((await sy('bounces', LIST)).stdout).toMatch(/DOMAIN +REASON +24H +TOTAL +LAST +LAST REPLY\ngmail\.com +blocked +2 +3 /);
    expect((await sy('bounces', 'nolist@lists.example.org')).code).toBe(1);
  });

  it('--run-warnings runs the pass now and queues the reminders on virgin', async () => {
    const store = openStore(home);
    await store.createList({ address: LIST });
    await store.addMember(LIST, { address: 'anne@example.org' });
    const list = await store.updateList(LIST, { settings: { bounceScoreThreshold: 1 } });
    await applyBounce(store, list, { address: 'anne@example.org', permanent: true, at: new Date(Date.now() - 8 * 86_400_000), source: 's1' });
    await store.close();
    const result = await sy('bounces', LIST, '--run-warnings', '--json');
    expect(result.code).toBe(0);
    expect((JSON.parse(result.stdout) as { warningsPass: { warned: string[] } }).warningsPass.warned).toEqual([`anne@example.org ${LIST}`]);
    const virgin = await new Spool({ root: join(home, 'queues') }).switchboard('virgin').list(['pck']);
    expect(virgin).toHaveLength(1);
  });
});
