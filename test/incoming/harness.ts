/**
 * A real incoming runner (runners/incoming.ts) in this process, over a fresh
 * home in a temp directory: its spool, its list store with one list, its
 * worker pool (the parse worker compiled in dist/). Posts go in as ingress
 * entries on `in`; tests await the entry's end (runner events, no sleeps) and
 * read where it went: `out`, `virgin`, `shunt`, the held messages.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JsonObject } from '../../queues/index.js';
import IncomingRunner from '../../runners/incoming.js';
import type { Config } from '../../src/config/schema.js';
import { homePaths } from '../../src/home.js';
import type { EntryOutcome } from '../../runners/runner.js';
import { openStore, type ListSettings, type MailingList, type Store } from '../../src/store/index.js';
import { afterAll } from 'vitest';
import { closeSharedTaskPool, makeSpool, runnerOptions, sharedTaskPool, startRunner, type RunnerWatch, type Spool } from '../runners/harness.js';
import { LIST } from './fixtures/messages.js';

export { cleanup } from '../runners/harness.js';

const stores: Store[] = [];

/**
 * The runners of a test file share one worker pool (sharedTaskPool): one worker thread loading the
 * parse worker's modules per file instead of one per test. Closed when the file is done.
 */
afterAll(closeSharedTaskPool);

export async function closeStores(): Promise<void> {
  for (const store of stores.splice(0)) await store.close();
}

export interface IncomingSetupOptions {
  settings?: Partial<ListSettings>;
  members?: string[];
  owners?: string[];
  moderators?: string[];
  /** `[runner.incoming.options]`. */
  options?: Record<string, unknown>;
  /** The whole configuration (`[dns]`, `[auth]`): without it the runner verifies nothing and asks no DNS. */
  config?: Config;
  /** Do not start the runner (tests that start it themselves). */
  noRunner?: boolean;
}

export class IncomingSetup {
  watch!: RunnerWatch<IncomingRunner>;

  constructor(
    readonly spool: Spool,
    readonly store: Store,
    readonly list: MailingList,
    readonly config?: Config,
  ) {}

  get home(): string {
    return this.spool.dir;
  }

  startRunner(options: Record<string, unknown> = {}): RunnerWatch<IncomingRunner> {
    const runner = new IncomingRunner(runnerOptions(this.spool, { name: 'incoming', queue: 'in', home: this.spool.dir, concurrency: 2, options, pool: sharedTaskPool(), ...(this.config === undefined ? {} : { config: this.config }) }));
    this.watch = startRunner(runner);
    return this.watch;
  }

  /** Enqueue `message` on `in` as ingress would; resolves with the entry's id. */
  async enqueue(message: Buffer, metadata: JsonObject = {}): Promise<string> {
    const meta: JsonObject = {
      listId: LIST,
      envelopeSender: 'anne@example.org',
      envelopeRecipient: LIST,
      receivedAt: new Date().toISOString(),
      receivedVia: 'inject',
      ...metadata,
    };
    return this.spool.switchboard('in').enqueue(message, meta);
  }

  /** Enqueue and wait until the runner settled it. */
  async post(message: Buffer, metadata: JsonObject = {}): Promise<{ id: string; outcome: EntryOutcome }> {
    const id = await this.enqueue(message, metadata);
    const end = await this.watch.endOf(id);
    return { id, outcome: end.outcome };
  }

  entries(queue: string) {
    return this.spool.entries(queue, ['pck']);
  }

  /** Log lines of the runner that mention `text` in their msg. */
  async logLines(text: string): Promise<Array<Record<string, unknown>>> {
    return (await this.spool.log()).filter((line) => typeof line.msg === 'string' && line.msg.includes(text));
  }
}

/** The bytes of a new, migrated store, made once per test file (see freshStore). */
let emptyStore: Promise<Buffer> | undefined;

async function makeEmptyStore(): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-store-'));
  try {
    const store = openStore(dir);
    await store.countMembers(LIST).catch(() => 0); // opened, created and migrated
    await store.close(); // checkpoints the WAL: the one file holds it all
    return await readFile(homePaths(dir).store);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * A new, empty store in `home`: a copy of one made and migrated once per
 * test file. Creating and migrating a SQLite store costs 100-300 ms of
 * fsyncs on a loaded machine, and each test here starts from a new one;
 * what is under test is the runner, not the migrations (test/store).
 */
async function freshStore(home: string): Promise<Store> {
  emptyStore ??= makeEmptyStore();
  await writeFile(homePaths(home).store, await emptyStore, { mode: 0o660 });
  return openStore(home);
}

export async function setupIncoming(options: IncomingSetupOptions = {}): Promise<IncomingSetup> {
  const spool = await makeSpool();
  const store = await freshStore(spool.dir);
  stores.push(store);
  const list = await store.createList({ address: LIST, displayName: 'Dev', settings: options.settings ?? {} });
  const members = options.members ?? ['anne@example.org', 'bob@example.net', 'carol@example.com'];
  await store.addMembers(LIST, members.map((address) => ({ address })));
  await store.addMembers(LIST, (options.owners ?? ['owner@example.org']).map((address) => ({ address, role: 'owner' as const })));
  await store.addMembers(LIST, (options.moderators ?? ['mod@example.org']).map((address) => ({ address, role: 'moderator' as const })));
  const setup = new IncomingSetup(spool, store, list, options.config);
  if (!options.noRunner) {
    const watch = setup.startRunner(options.options);
    await watch.whenReady();
  }
  return setup;
}
