/**
 * `switchyard digests ...` through the built binary on a real home: status
 * of every list (table and --json), send with nothing waiting, an unknown
 * list (exit 1, SY_LIST_UNKNOWN), --help. Sending real digests is
 * test/e2e/digest-flow.test.ts.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';

const LIST = 'dev@example.org';
let home: string;
const sy = (...args: string[]) => runCli(['--home', home, ...args]);

beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'switchyard-cli-digests-'));
  expect((await sy('lists', 'create', LIST)).code).toBe(0);
});

afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

describe('switchyard digests', () => {
  it.each([['digests'], ['digests', 'send'], ['digests', 'status']])('`%s --help` prints its usage and exits 0', async (...words: string[]) => {
    const result = await runCli([...words, '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`Usage: switchyard ${words.join(' ')}`);
  });

  it('status shows each list (volume, next issue, waiting posts, digest members); send with nothing waiting sends nothing', async () => {
    await sy('members', 'add', LIST, 'anne@example.org');
    await sy('members', 'set', LIST, 'anne@example.org', 'deliveryMode=summary');
    const status = await sy('digests', 'status', '--json');
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toEqual({
      lists: [
        {
          list: LIST,
          volume: 1,
          nextIssue: 1,
          pendingPosts: 0,
          pendingSize: 0,
          lastSentAt: null,
          unfinishedIssue: null,
          digestMembers: { summary_digests: 1 },
          digestSizeThreshold: 30,
          digestSendPeriodic: '0 0 * * *',
          digestVolumeFrequency: 'monthly',
        },
      ],
    });
    expect((await sy('digests', 'status')).stdout).toMatch(/^dev@example\.org +1 +1 +0 +0 +summary 1 +-$/m);
    expect(await sy('digests', 'send', LIST)).toMatchObject({ code: 0, stdout: `${LIST}: no posts waiting for a digest; nothing sent\n` });
  });

  it('an unknown list exits 1 with SY_LIST_UNKNOWN', async () => {
    for (const args of [['digests', 'send', 'nosuch@example.org'], ['digests', 'status', 'nosuch@example.org']]) {
      const result = await sy(...args);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('SY_LIST_UNKNOWN');
    }
  });
});
