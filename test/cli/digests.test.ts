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
import { openStore } from '../../src/store/index.js';
import { runCli, runCliInProcess } from '../support/cli.js';

const LIST = 'dev@example.org';
let home: string;
const sy = (...args: string[]) => runCli(['--home', home, ...args]);

beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'switchyard-cli-digests-'));
  // The list straight into the store, as `lists create` makes it (tested in lists.test.ts): a CLI start-up (~0.3 s of CPU) per test fewer.
  const store = openStore(home);
  try {
    await store.createList({ address: LIST });
  } finally {
    await store.close();
  }
});

afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

describe('switchyard digests', () => {
  it.each([['digests'], ['digests', 'send'], ['digests', 'status']])('`%s --help` prints its usage and exits 0', async (...words: string[]) => {
    // In this process (program.ts run(), what the binary runs); the built binary's own help is the next test.
    const result = await runCliInProcess([...words, '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`Usage: switchyard ${words.join(' ')}`);
  });

  it('the built binary prints the same help as the program run in-process, and exits 0', async () => {
    const real = await runCli(['digests', 'status', '--help']);
    expect(real.code).toBe(0);
    expect(real.stdout).toContain('Usage: switchyard digests status');
    expect(real.stdout).toBe((await runCliInProcess(['digests', 'status', '--help'])).stdout);
  });

  it('status shows each list (volume, next issue, waiting posts, digest members); send with nothing waiting sends nothing', async () => {
    // A digest member straight into the store, as `members add` then `members set ... deliveryMode=summary` leave it (members.test.ts runs those).
    const store = openStore(home);
    try {
      await store.addMember(LIST, { address: 'anne@example.org', deliveryMode: 'summary_digests' });
    } finally {
      await store.close();
    }
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
