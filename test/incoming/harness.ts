/**
 * A real incoming runner (runners/incoming.ts) in this process, over a fresh
 * home in a temp directory: its spool, its list store with one list, its
 * worker pool (the parse worker compiled in dist/). Posts go in as ingress
 * entries on `in`; tests await the entry's end (runner events, no sleeps) and
 * read where it went: `out`, `virgin`, `shunt`, the held messages.
 */
import { mkdtemp, readdir, readFile, rm, truncate, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JsonObject } from '../../queues/index.js';
import IncomingRunner from '../../runners/incoming.js';
import type { Config } from '../../src/config/schema.js';
import { homePaths } from '../../src/home.js';
import type { EntryOutcome } from '../../runners/runner.js';
import { openStore, type ListSettings, type MailingList, type Store } from '../../src/store/index.js';
import pino from 'pino';
import { closeSharedTaskPool, makeSpool, Pulse, RunnerWatch, runnerOptions, sharedTaskPool, Spool, startRunner } from '../runners/harness.js';
import { LIST } from './fixtures/messages.js';

export { cleanup } from '../runners/harness.js';

const stores: Store[] = [];

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

/** The list LIST with its members, owners and moderators, as `options` says. */
async function createTheList(store: Store, options: IncomingSetupOptions): Promise<MailingList> {
  const list = await store.createList({ address: LIST, displayName: 'Dev', settings: options.settings ?? {} });
  const members = options.members ?? ['anne@example.org', 'bob@example.net', 'carol@example.com'];
  await store.addMembers(LIST, members.map((address) => ({ address })));
  await store.addMembers(LIST, (options.owners ?? ['owner@example.org']).map((address) => ({ address, role: 'owner' as const })));
  await store.addMembers(LIST, (options.moderators ?? ['mod@example.org']).map((address) => ({ address, role: 'moderator' as const })));
  return list;
}

export async function setupIncoming(options: IncomingSetupOptions = {}): Promise<IncomingSetup> {
  const spool = await makeSpool();
  const store = await freshStore(spool.dir);
  stores.push(store);
  const list = await createTheList(store, options);
  const setup = new IncomingSetup(spool, store, list, options.config);
  if (!options.noRunner) {
    const watch = setup.startRunner(options.options);
    await watch.whenReady();
  }
  return setup;
}

/**
 * One incoming runner, spool and store for every test of a file that uses
 * resetIncoming(): starting a runner is the costly part of a test here
 * (the spool's directories, an inotify watch per `in` slice directory, the
 * store opened twice), not the posts. Kept out of cleanup()'s and
 * closeStores()'s lists: those end what one test made; this ends in afterAll.
 */
interface Shared {
  spool: Spool;
  store: Store;
  watch: RunnerWatch<IncomingRunner>;
  destination: ReturnType<typeof pino.destination>;
}

let shared: Promise<Shared> | undefined;

async function makeShared(): Promise<Shared> {
  const spool = new Spool(await mkdtemp(join(tmpdir(), 'switchyard-incoming-')));
  const store = await freshStore(spool.dir);
  // Its own log destination, not runnerOptions' (cleanup() after each test destroys those).
  const destination = pino.destination({ dest: spool.logFile, sync: true, append: true });
  const runner = new IncomingRunner(
    runnerOptions(spool, { name: 'incoming', queue: 'in', home: spool.dir, concurrency: 2, options: {}, pool: sharedTaskPool(), logger: pino({ level: 'debug' }, destination) }),
  );
  const watch = new RunnerWatch(runner, new Pulse());
  await watch.whenReady();
  return { spool, store, watch, destination };
}

/**
 * Ends what a test file shared between its tests: the resetIncoming() runner,
 * spool and store, and the worker pool its runners share (sharedTaskPool: one
 * worker thread loading the parse worker's modules per file, not per test).
 * Every file using this harness registers it: `afterAll(closeIncomingFile)`.
 * A hook registered here, at module level, would belong only to the first
 * file that imported the module: in the shared worker (vitest.config.ts) the
 * module is loaded once for all the files that run there.
 */
export async function closeIncomingFile(): Promise<void> {
  const pending = shared;
  shared = undefined;
  if (pending !== undefined) {
    const { spool, store, watch, destination } = await pending;
    const stopped = watch.runner.stop();
    watch.runner.abort();
    await stopped;
    await watch.done;
    destination.destroy();
    await store.close();
    await rm(spool.dir, { recursive: true, force: true, maxRetries: 3 });
  }
  await closeSharedTaskPool();
}

/**
 * The file's shared runner, with everything a test can see reset to what
 * setupIncoming() gives: the list removed (with its held messages, members
 * and auto-response counts) and made again from `options`, every entry of
 * every queue deleted, the runner's log emptied. For tests that need no
 * runner options nor configuration of their own (those use setupIncoming()).
 * Call it only between posts: no entry may be in flight (tests await each
 * post's end).
 */
export async function resetIncoming(options: Pick<IncomingSetupOptions, 'settings' | 'members' | 'owners' | 'moderators'> = {}): Promise<IncomingSetup> {
  shared ??= makeShared();
  const { spool, store, watch } = await shared;
  if ((await store.findList(LIST)) !== null) await store.removeList(LIST);
  const list = await createTheList(store, options);
  for (const queue of await readdir(spool.queues)) {
    for (const entry of await spool.switchboard(queue).list(['pck', 'bak', 'psv'])) await unlink(entry.path);
  }
  await truncate(spool.logFile, 0);
  const setup = new IncomingSetup(spool, store, list);
  setup.watch = watch;
  return setup;
}
