/**
 * Shared pieces of the pipeline tests: the fixture messages (LF on disk,
 * also served with CRLF), a PipelineContext over a real list store and a real
 * spool in a temp home, a logger whose lines the tests can read, and
 * leafParts(), which walks a message's MIME tree to the bytes of every leaf
 * part so tests can show that parts a handler did not edit are unchanged.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import pino from 'pino';
import { Writable } from 'node:stream';
import { decodeEntry, Switchboard, type JsonObject } from '../../queues/index.js';
import type { PipelineContext } from '../../runners/incoming/pipeline.js';
import { contentTypeOf, splitMultipart } from '../../src/mail/mime-entity.js';
import { RawMessage } from '../../src/mail/raw-message.js';
import { openStore, type ListSettings, type MailingList, type Store } from '../../src/store/index.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));
/** The fixture messages, whether this runs from source (vitest) or compiled (benchmarks in dist/). */
export const MESSAGES = /[/\\]dist[/\\]test[/\\]/.test(HERE) ? join(HERE, '..', '..', '..', 'test', 'pipeline', 'messages') : join(HERE, 'messages');

export type Eol = 'lf' | 'crlf';

export async function loadMessage(name: string, eol: Eol = 'lf'): Promise<Buffer> {
  const bytes = await readFile(join(MESSAGES, name));
  return eol === 'lf' ? bytes : Buffer.from(bytes.toString('latin1').replace(/\r?\n/g, '\r\n'), 'latin1');
}

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

export interface Fixture {
  home: string;
  store: Store;
  list: MailingList;
  lines: LogLine[];
  /** A context for `message` with the list as it is now in the store. */
  context(message: Buffer, metadata?: JsonObject): Promise<PipelineContext>;
  /** Entries the context enqueued, per queue (read back from the real spool). */
  queued(queue: string): Promise<{ message: Buffer; metadata: JsonObject }[]>;
  setSettings(settings: Partial<ListSettings>): Promise<void>;
  /** Write list values straight into the store's row, unchecked: what a switchyard older than the header checks may have stored. */
  storeUnchecked(values: { displayName?: string; settings?: Partial<ListSettings> }): void;
  close(): Promise<void>;
}

export async function makeFixture(settings: Partial<ListSettings> = {}, members: string[] = []): Promise<Fixture> {
  const home = await mkdtemp(join(tmpdir(), 'sy-pipeline-'));
  const store = openStore(home);
  await store.createList({ address: 'test@lists.example.org', displayName: 'Test', description: 'A list for tests', settings });
  if (members.length > 0) await store.addMembers('test@lists.example.org', members.map((address) => ({ address })));
  const lines: LogLine[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const text of chunk.toString('utf8').split('\n')) if (text !== '') lines.push(JSON.parse(text) as LogLine);
      done();
    },
  });
  const log = pino({ level: 'debug' }, sink);
  const queues = join(home, 'queues');
  const boards = new Map<string, Switchboard>();
  const board = (name: string): Switchboard => {
    let found = boards.get(name);
    if (!found) boards.set(name, (found = new Switchboard({ root: queues, name, durability: 'none' })));
    return found;
  };
  const fixture: Fixture = {
    home,
    store,
    lines,
    list: await store.getList('test@lists.example.org'),
    async context(message, metadata = {}) {
      const list = await store.getList('test@lists.example.org');
      fixture.list = list;
      return {
        list,
        message: RawMessage.parse(message),
        metadata: { listId: list.address, envelopeSender: 'anne@example.com', receivedAt: '2025-03-04T10:15:02.000Z', receivedVia: 'inject', ...metadata },
        store,
        log,
        now: () => Date.parse('2025-03-04T10:15:03.000Z'),
        async enqueue(queue, bytes, entryMetadata) {
          await board(queue).enqueue(bytes, entryMetadata);
        },
      };
    },
    async queued(queue) {
      const sb = board(queue);
      const entries = [];
      for (const listing of await sb.list(['pck'])) {
        const entry = decodeEntry(await readFile(listing.path));
        entries.push({ message: entry.message, metadata: entry.metadata });
      }
      return entries;
    },
    async setSettings(changes) {
      await store.updateList('test@lists.example.org', { settings: changes });
    },
    storeUnchecked(values) {
      const db = new Database(join(home, 'switchyard.db'));
      try {
        const row = db.prepare('SELECT settings, display_name FROM lists WHERE address = ?').get('test@lists.example.org') as { settings: string; display_name: string };
        const settings = { ...(JSON.parse(row.settings) as object), ...(values.settings ?? {}) };
        db.prepare('UPDATE lists SET settings = ?, display_name = ? WHERE address = ?').run(JSON.stringify(settings), values.displayName ?? row.display_name, 'test@lists.example.org');
      } finally {
        db.close();
      }
    },
    async close() {
      await store.close();
      await rm(home, { recursive: true, force: true });
    },
  };
  return fixture;
}

/** The bytes of every leaf part (header block and body) in document order; the whole message when not multipart. */
export function leafParts(bytes: Buffer): Buffer[] {
  const entity = RawMessage.parse(bytes);
  const type = contentTypeOf(entity);
  if (type.type !== 'multipart') return [bytes];
  const layout = splitMultipart(entity.body, type.params.boundary);
  if (layout === undefined) return [bytes];
  return layout.parts.flatMap((part) => leafParts(entity.body.subarray(part.start, part.end)));
}

/** The bytes of every direct part of a multipart message. */
export function directParts(bytes: Buffer): Buffer[] {
  const entity = RawMessage.parse(bytes);
  const layout = splitMultipart(entity.body, contentTypeOf(entity).params.boundary);
  if (layout === undefined) throw new Error('not a multipart with a usable boundary');
  return layout.parts.map((part) => entity.body.subarray(part.start, part.end));
}

export function field(bytes: Buffer, name: string): string | undefined {
  return RawMessage.parse(bytes).get(name);
}
