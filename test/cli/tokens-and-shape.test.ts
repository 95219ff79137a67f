/**
 * `switchyard tokens create|list|revoke` and `switchyard queue shape` with
 * the real built CLI on a temp home: tokens shown once and kept hashed,
 * roles and lists checked with usage errors; queue shape counting real
 * queue files by the age in their names.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, runHomeCliInProcess } from '../support/cli.js';
import { Spool } from '../../queues/index.js';
import { SPOOL_OPTIONS } from '../../runners/queue-ids.js';
import { openStore } from '../../src/store/index.js';

let home: string;

beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'sy-tokens-'));
  // The list straight into the store, as `lists create` makes it (tested in lists.test.ts): a CLI start-up (~0.3 s of CPU) per test fewer.
  const store = openStore(home);
  try {
    await store.createList({ address: 'dev@lists.example.org' });
  } finally {
    await store.close();
  }
});

afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

/**
 * `switchyard --home HOME ARGS` in this process (program.ts run(), what the binary runs: the same exit
 * code, stdout and stderr) without a node start-up (~0.35 s of CPU) each; the built binary itself runs
 * (cliReal) for one of each kind of outcome: a success's stdout and stderr, exit 2, exit 1, --json.
 */
const cli = (...args: string[]) => runHomeCliInProcess(home, args);
const cliReal = (...args: string[]) => runCli(['--home', home, ...args]);

describe('switchyard tokens', () => {
  it('create prints the token once; list shows id, name, role and list but never the token; revoke removes it', async () => {
    const admin = await cliReal('tokens', 'create', 'ops');
    expect(admin.code).toBe(0);
    expect(admin.stdout).toMatch(/^sy_[A-Za-z0-9_-]{43}\n$/);
    expect(admin.stderr).toContain('token 1 (admin) created; it is shown only now');
    const scoped = await cli('tokens', 'create', 'ann', '--list', 'dev@lists.example.org', '--json');
    expect(JSON.parse(scoped.stdout)).toMatchObject({ id: 2, name: 'ann', role: 'owner', list: 'dev@lists.example.org', token: expect.stringMatching(/^sy_/) });
    const listed = await cli('tokens', 'list');
    expect(listed.stdout).toMatch(/^ID +NAME +ROLE +LIST/);
    expect(listed.stdout).toMatch(/\n +1 +ops +admin +- /);
    expect(listed.stdout).toMatch(/\n +2 +ann +owner +dev@lists\.example\.org /);
    expect(listed.stdout).not.toContain(admin.stdout.trim());
    expect((await cli('tokens', 'revoke', '1')).stdout).toBe('token 1 revoked\n');
    expect(JSON.parse((await cli('tokens', 'list', '--json')).stdout).tokens.map((t: { id: number }) => t.id)).toEqual([2]);
  });

  it('refuses a role without its list, a list for admin, an unknown list and an unknown token, with codes and exit codes', async () => {
    const moderatorNoList = await cliReal('tokens', 'create', 'mo', '--role', 'moderator');
    expect(moderatorNoList.code).toBe(2);
    expect(moderatorNoList.stderr).toContain('SY_TOKEN_INVALID');
    const adminWithList = await cli('tokens', 'create', 'x', '--role', 'admin', '--list', 'dev@lists.example.org');
    expect(adminWithList.code).toBe(2);
    const unknownList = await cli('tokens', 'create', 'x', '--list', 'nope@lists.example.org');
    expect(unknownList.code).toBe(1);
    expect(unknownList.stderr).toContain('SY_LIST_UNKNOWN');
    const badRole = await cli('tokens', 'create', 'x', '--role', 'king');
    expect(badRole.code).toBe(2);
    const unknownToken = await cliReal('tokens', 'revoke', '42');
    expect(unknownToken.code).toBe(1);
    expect(unknownToken.stderr).toContain('SY_TOKEN_UNKNOWN');
  });
});

describe('switchyard queue shape', () => {
  it('counts waiting entries per queue by age bucket (from the time in their names), oldest age too; --json', async () => {
    const spool = new Spool({ root: join(home, 'queues'), ...SPOOL_OPTIONS, durability: 'none' });
    const inQueue = spool.switchboard('in');
    const now = Date.now();
    // Ages: 1 minute, 7 minutes, 30 minutes, 2 days.
    for (const minutes of [1, 7, 30, 2 * 24 * 60]) {
      await inQueue.enqueue(Buffer.from(`message ${minutes}`), { listId: 'dev@lists.example.org' }, { micros: BigInt(now - minutes * 60_000) * 1000n });
    }
    const json = await cliReal('queue', 'shape', '--json');
    expect(json.code).toBe(0);
    const shape = JSON.parse(json.stdout) as { bucketsMinutes: number[]; queues: { queue: string; total: number; oldestAgeSeconds: number | null; buckets: number[] }[] };
    expect(shape.bucketsMinutes).toEqual([5, 10, 20, 40, 80, 160, 320, 640, 1280]);
    const inShape = shape.queues.find((q) => q.queue === 'in')!;
    expect(inShape.total).toBe(4);
    expect(inShape.buckets).toEqual([1, 1, 0, 1, 0, 0, 0, 0, 0, 1]);
    expect(inShape.oldestAgeSeconds).toBeGreaterThanOrEqual(2 * 24 * 3600);
    expect(shape.queues.find((q) => q.queue === 'out')).toEqual({ queue: 'out', total: 0, oldestAgeSeconds: null, buckets: new Array(10).fill(0) });
    const text = await cli('queue', 'shape');
    expect(text.stdout).toMatch(/^QUEUE +TOTAL +OLDEST +5 +10 +20 +40 +80 +160 +320 +640 +1280 +1280\+\n/);
    expect(text.stdout).toMatch(/\nin +4 +\d+s +1 +1 +0 +1 +0 +0 +0 +0 +0 +1\n/);
  });
});
