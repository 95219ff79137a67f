/**
 * An application context for unit tests of src/app/: a real SQLite store in
 * a temporary directory, a fake clock the test moves, an enqueue that keeps
 * what it was given, a pino logger writing into an array, and a fresh event
 * bus. No process, no spool.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import type { JsonObject } from '../../queues/index.js';
import type { AppContext } from '../../src/app/context.js';
import { AppEvents } from '../../src/app/events.js';
import { LIST_SETTING_REGISTRIES } from '../../runners/list-setting-registries.js';
import { openStore } from '../../src/store/index.js';

export const LIST = 'dev@lists.example.org';

export interface Enqueued {
  queue: string;
  id: string;
  message: Buffer;
  metadata: JsonObject;
}

export interface TestApp extends AppContext {
  dir: string;
  enqueued: Enqueued[];
  logLines: Record<string, unknown>[];
  /** Set the fake clock. */
  setNow(at: Date | string): void;
  close(): Promise<void>;
}

export async function testApp(start = '2024-06-01T12:00:00Z'): Promise<TestApp> {
  const dir = await mkdtemp(join(tmpdir(), 'sy-app-'));
  const store = openStore(dir);
  let clock = new Date(start);
  const enqueued: Enqueued[] = [];
  const logLines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logLines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
      done();
    },
  });
  return {
    dir,
    store,
    now: () => new Date(clock.getTime()),
    enqueue: async (queue, message, metadata) => {
      const id = `${queue}-${enqueued.length + 1}`;
      enqueued.push({ queue, id, message: Buffer.from(message), metadata });
      return id;
    },
    log: pino({ level: 'debug' }, sink),
    events: new AppEvents(),
    settingRegistries: LIST_SETTING_REGISTRIES,
    enqueued,
    logLines,
    setNow(at) {
      clock = new Date(at);
    },
    async close() {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
