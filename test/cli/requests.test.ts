/**
 * `switchyard requests ...` as owners run it: the built binary against a
 * real store in a temp home; what approve and reject enqueue is read back
 * from the real `virgin` queue.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AppEvents } from '../../src/app/events.js';
import { requestSubscription } from '../../src/app/subscriptions.js';
import { spoolEnqueue } from '../../src/app/spool-enqueue.js';
import { openStore, type Store } from '../../src/store/index.js';
import { withHomeStore } from '../support/home-store.js';
import { runCli, runHomeCliInProcess, type CliResult } from '../support/cli.js';

const LIST = 'dev@example.org';
let home: string;

/**
 * `switchyard --home HOME ARGS` in this process (program.ts run(), what the binary runs: the same exit
 * code, stdout and stderr) without a node start-up (~0.35 s of CPU) each; the built binary itself runs
 * (syReal) for one of each kind of outcome: a success's output, exit 1, a usage error (exit 2).
 */
function sy(...args: string[]): Promise<CliResult> {
  return runHomeCliInProcess(home, args);
}

/** `switchyard --home HOME ARGS`, the built binary in a process of its own. */
function syReal(...args: string[]): Promise<CliResult> {
  return runCli(['--home', home, ...args]);
}

interface RequestJson {
  id: number;
  kind: string;
  address: string;
  waitsFor: string;
}

async function requests(): Promise<RequestJson[]> {
  const result = await sy('requests', 'list', LIST, '--json');
  expect(result.code).toBe(0);
  return (JSON.parse(result.stdout) as { requests: RequestJson[] }).requests;
}

/** Requests made as the command runner makes them, through the app layer on the home's store and queues. */
async function ask(addresses: string[]): Promise<void> {
  const store = openStore(home);
  try {
    const app = { store, now: () => new Date(), enqueue: spoolEnqueue(join(home, 'queues'), 'none'), events: new AppEvents() };
    for (const address of addresses) await requestSubscription(app, LIST, { address });
  } finally {
    await store.close();
  }
}

async function virginCount(): Promise<number> {
  const dir = join(home, 'queues', 'virgin');
  let count = 0;
  const walk = async (path: string): Promise<void> => {
    for (const entry of await readdir(path, { withFileTypes: true }).catch(() => [])) {
      if (entry.isDirectory()) await walk(join(path, entry.name));
      else if (entry.name.endsWith('.pck')) count++;
    }
  };
  await walk(dir);
  return count;
}

/** The home's store in this process: setup and state checks around the requests commands, without a node start-up (~0.3 s of CPU) each. */
function inStore<T>(work: (store: Store) => Promise<T>): Promise<T> {
  return withHomeStore(home, work);
}

beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'switchyard-cli-requests-'));
  // The list straight into the store, as `lists create` and `lists set ... subscriptionPolicy moderate` leave it
  // (those commands have their tests in lists.test.ts): two CLI start-ups per test fewer.
  await inStore((store) => store.createList({ address: LIST, settings: { subscriptionPolicy: 'moderate' } }));
});

afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

describe('switchyard requests', () => {
  it('list shows waiting requests as a table and as JSON; none says so', async () => {
    expect((await sy('requests', 'list', LIST)).stdout).toBe(`no requests pending on ${LIST}\n`);
    await ask(['ann@example.org', 'bob@example.net']);
    const table = await sy('requests', 'list', LIST);
    expect(table.stdout).toMatch(/ID\s+KIND\s+ADDRESS/);
    expect(table.stdout).toContain('subscription_approval');
    expect((await requests()).map((r) => [r.address, r.waitsFor])).toEqual([
      ['ann@example.org', 'owners'],
      ['bob@example.net', 'owners'],
    ]);
  });

  it('approve makes the member and queues the welcome; reject queues the refusal; discard drops; the request is gone after each', async () => {
    await ask(['ann@example.org', 'bob@example.net', 'cy@example.net']);
    const [ann, bob, cy] = await requests();
    const before = await virginCount();
    const approved = await syReal('requests', 'approve', LIST, String(ann!.id));
    expect(approved.code).toBe(0);
    expect(approved.stdout).toBe(`request #${ann!.id} on ${LIST}: approved: ann@example.org is now a member of ${LIST}\n`);
    const members = await inStore((store) => store.members(LIST));
    expect(JSON.stringify(members)).toContain('ann@example.org');
    const rejected = JSON.parse((await sy('requests', 'reject', LIST, String(bob!.id), '--reason', 'lab only', '--json')).stdout) as { decision: string; notice: string };
    expect(rejected.decision).toBe('reject');
    expect((await sy('requests', 'discard', LIST, String(cy!.id))).stdout).toContain('discarded');
    expect(await virginCount()).toBe(before + 2);
    expect(await requests()).toEqual([]);
    expect(JSON.stringify(await inStore((store) => store.members(LIST)))).not.toContain('bob@example.net');
  });

  it('an unknown request is exit 1 naming the list; a bad id is exit 2; approving one that waits for a confirmation is exit 1', async () => {
    const unknown = await syReal('requests', 'approve', LIST, '99');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain(`no pending request 99 on ${LIST}`);
    expect((await syReal('requests', 'approve', LIST, 'x')).code).toBe(2);
    await inStore((store) => store.updateList(LIST, { settings: { subscriptionPolicy: 'confirm' } }));
    await ask(['ann@example.org']);
    const [waiting] = await requests();
    expect(waiting!.waitsFor).toBe('confirmation');
    const refused = await sy('requests', 'approve', LIST, String(waiting!.id));
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('waits for ann@example.org to confirm');
  });

  it('--help names the subcommands and exit codes', async () => {
    const help = await sy('requests', '--help');
    expect(help.code).toBe(0);
    for (const word of ['list', 'approve', 'reject', 'discard', 'Exit codes']) expect(help.stdout).toContain(word);
  });
});
