/**
 * Digests survive SIGKILL: 200 posts go into `in` of a real master in ten
 * batches; after each batch one incoming runner process is SIGKILLed while
 * it adds posts to the digest (ten kills), and every third batch a
 * `switchyard digests send` is started and SIGKILLed at a random moment of
 * its work (the scheduler's own digests job may send meanwhile too). Once
 * everything is in, `digests send` runs until nothing waits. Then, per
 * format, every post is in exactly one digest issue, and no issue was
 * queued twice. The outgoing runner is off, so the digests stay in `out`
 * to be counted.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { Spool, Switchboard } from '../../queues/index.js';
import { openStore } from '../../src/store/index.js';
import { builtInRunnersOff, CLI, makeHome, removeHome, runCli, startMaster, testConfig, waitForDrained, type MasterHandle } from '../master/harness.js';

const LIST = 'team@lists.example.org';
const POSTS = 200;
const BATCHES = 10;
const TIMEOUT = 600_000;

let home: string | undefined;
let master: MasterHandle | undefined;

afterAll(async () => {
  await master?.stop();
  if (home) await removeHome(home);
});

async function cli(...args: string[]) {
  const result = await runCli(['--home', home!, ...args]);
  expect(result.code, result.stderr).toBe(0);
  return result;
}

/** `digests send` as its own process, SIGKILLed after `delayMs` (if still running); resolves when it is gone. */
function sendAndKill(delayMs: number): Promise<void> {
  const child = spawn(process.execPath, [CLI, '--home', home!, 'digests', 'send', LIST], { stdio: 'ignore' });
  const timer = setTimeout(() => child.kill('SIGKILL'), delayMs);
  return new Promise((resolve) => child.on('exit', () => (clearTimeout(timer), resolve())));
}

it(`every one of ${POSTS} posts is in exactly one digest issue per format, with the incoming runner SIGKILLed ${BATCHES} times and senders killed midway`, async () => {
  // Only the runners the digest path needs (incoming, and the scheduler, whose digests job may send meanwhile):
  // archive, bounces, virgin, command and retry would only be more processes to start on a loaded machine.
  const config = testConfig(`${builtInRunnersOff(['incoming'])}\n[runner.incoming]\ninstances = 2\nmaxRestores = 1000\n`, { maxRestarts: 1_000_000, restartBackoff: '"5ms"', restartBackoffMax: '"50ms"' })
    .replace('level = "debug"', 'level = "info"')
    .concat('\n[queues]\ndurability = "none"\n');
  home = await makeHome(config);
  // The list and its digest members straight into the store (the CLI's list and member commands have tests of their own).
  const store = openStore(home);
  try {
    await store.createList({ address: LIST, settings: { digestSendPeriodic: '', requireExplicitDestination: false } });
    await store.addMembers(LIST, [
      { address: 'owner@example.com', role: 'owner' },
      { address: 'ann@example.org', deliveryMode: 'summary_digests' },
      { address: 'mime@example.org', deliveryMode: 'mime_digests' },
      { address: 'plain@example.org', deliveryMode: 'plain_digests' },
    ]);
  } finally {
    await store.close();
  }
  master = await startMaster(home);
  const root = join(home, 'queues');
  const inbox = new Switchboard({ root, name: 'in', durability: 'none', hashKeyField: 'listId' });

  let kills = 0;
  const senders: Promise<void>[] = [];
  for (let batch = 0; batch < BATCHES; batch++) {
    const added = master.nextLine((line) => line.msg === 'post added to the digest', 'a post added to the digest');
    for (let i = 0; i < POSTS / BATCHES; i++) {
      const n = batch * (POSTS / BATCHES) + i;
      const raw = `From: ann@example.org\r\nTo: ${LIST}\r\nSubject: post ${n}\r\nMessage-ID: <kill-${n}@example.org>\r\n\r\n${'text '.repeat(40)}\r\n`;
      await inbox.enqueue(raw, { listId: LIST, envelopeSender: 'ann@example.org', receivedAt: new Date().toISOString(), receivedVia: 'test' });
    }
    // The runner is busy with this batch: kill one incoming process, and wait until it is back.
    await added;
    const running = (await master.status()).runners.filter((r) => r.name === 'incoming' && r.state === 'running' && r.pid !== null);
    const victim = running[Math.floor(Math.random() * running.length)];
    if (victim !== undefined) {
      const back = master.nextLine((line) => line.msg === 'runner up' && line.runner === 'incoming' && line.slice === victim.slice, 'incoming back up');
      try {
        process.kill(victim.pid!, 'SIGKILL');
        kills++;
        await back;
      } catch {
        // It exited on its own in between: the next batch kills again. The wait for it is dropped, not
        // left to reject at the master's exit in afterAll (an unhandled rejection in the test process).
        back.catch(() => undefined);
      }
    }
    if (batch % 3 === 2) senders.push(sendAndKill(150 + Math.floor(Math.random() * 600)));
  }
  await Promise.all(senders);
  expect(kills).toBeGreaterThanOrEqual(BATCHES - 1);

  // Everything through `in` (recovered entries included).
  await waitForDrained(home!, 'in');
  const spool = new Spool({ root });
  for (let i = 0; i < 5; i++) {
    const status = (JSON.parse((await cli('digests', 'status', '--json')).stdout) as { lists: Array<{ pendingPosts: number; unfinishedIssue: unknown }> }).lists[0]!;
    if (status.pendingPosts === 0 && status.unfinishedIssue === null) break;
    await cli('digests', 'send', LIST);
  }

  const seen = new Map<string, Map<number, number>>();
  const issues = new Map<string, number[]>();
  for (const entry of await spool.entries('out')) {
    const digest = entry.metadata?.digest as { format: string; issue: number } | undefined;
    expect(digest).toBeDefined();
    issues.set(digest!.format, [...(issues.get(digest!.format) ?? []), digest!.issue]);
    const counts = seen.get(digest!.format) ?? new Map<number, number>();
    const { bytes } = await spool.read(entry.id);
    for (const match of bytes.toString('utf8').matchAll(/<kill-(\d+)@example\.org>/g)) counts.set(Number(match[1]), (counts.get(Number(match[1])) ?? 0) + 1);
    seen.set(digest!.format, counts);
  }
  expect([...seen.keys()].sort()).toEqual(['mime_digests', 'plain_digests', 'summary_digests']);
  for (const [format, counts] of seen) {
    const missing = Array.from({ length: POSTS }, (_, n) => n).filter((n) => !counts.has(n));
    const twice = [...counts].filter(([, c]) => c !== 1);
    expect({ format, missing, twice }).toEqual({ format, missing: [], twice: [] });
    const numbers = issues.get(format)!;
    expect(new Set(numbers).size, `${format} issues ${numbers.join(',')}`).toBe(numbers.length);
  }
}, TIMEOUT);
