/**
 * The archive index the web pages read (src/app/archive-reader.ts) from a
 * real store, posts added as the archive runner adds them (archivePost):
 * threads from References and In-Reply-To whatever order the posts were
 * archived in, a circle of References cut, months, a message's bytes back
 * exactly, and the index rebuilt when another writer adds a post.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { archivePost } from '../../src/app/archive.js';
import { archiveIndex, archiveMessageId, archiveMonths, archivedMessage, monthThreads, postsThisMonth, threadPosts } from '../../src/app/archive-reader.js';
import { openStore, type Store } from '../../src/store/index.js';

const LIST = 'team@lists.example.org';
let home: string;
let store: Store;

beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'sy-archive-'));
  store = openStore(home);
});

afterEach(async () => {
  await store.close();
  await rm(home, { recursive: true, force: true });
});

function post(id: string, subject: string, refs: string[] = [], body = 'text'): Buffer {
  const references = refs.length === 0 ? '' : `In-Reply-To: <${refs.at(-1)}>\nReferences: ${refs.map((r) => `<${r}>`).join(' ')}\n`;
  return Buffer.from(`From: a@example.org\nSubject: ${subject}\nMessage-ID: <${id}>\n${references}\n${body}\n`);
}

async function write(posts: [Buffer, string][]): Promise<void> {
  for (const [raw, date] of posts) await archivePost({ store }, { list: LIST, raw, sender: 'a@example.org', receivedAt: new Date(date) });
}

describe('archive index', () => {
  it('threads replies under their parents even when a reply was archived first; months newest first', async () => {
    await write([
      [post('r2', 'Re: Re: one', ['root', 'r1']), '2026-12-01T10:02:00Z'],
      [post('root', 'one'), '2026-12-01T10:00:00Z'],
      [post('r1', 'Re: one', ['root']), '2026-12-01T10:01:00Z'],
      [post('other', 'two'), '2026-11-30T09:00:00Z'],
    ]);
    const index = await archiveIndex(store, LIST);
    const root = index.byId.get(archiveMessageId('<root>'))!;
    expect(threadPosts(index, root.id).map((p) => [p.subject, p.depth])).toEqual([
      ['one', 0],
      ['Re: one', 1],
      ['Re: Re: one', 2],
    ]);
    expect(await archiveMonths(store, LIST)).toEqual([
      { month: '2026-12', count: 3 },
      { month: '2026-11', count: 1 },
    ]);
    expect(monthThreads(index, '2026-12').map((t) => t.posts.length)).toEqual([3]);
    expect(await postsThisMonth(store, LIST, new Date('2026-12-24T00:00:00Z'))).toBe(3);
  });

  it('sees a post another writer (another host) added since the index was built', async () => {
    await write([[post('first', 'first'), '2026-12-01T10:00:00Z']]);
    expect((await archiveIndex(store, LIST)).posts).toHaveLength(1);
    const other = openStore(home);
    await archivePost({ store: other }, { list: LIST, raw: post('second', 'Re: first', ['first']), sender: '', receivedAt: new Date('2026-12-01T11:00:00Z') });
    await other.close();
    const index = await archiveIndex(store, LIST);
    expect(index.posts.map((p) => [p.subject, p.depth])).toEqual([
      ['first', 0],
      ['Re: first', 1],
    ]);
  });

  it('cuts a circle of References instead of looping', async () => {
    await write([
      [post('x', 'x', ['y']), '2026-12-01T10:00:00Z'],
      [post('y', 'y', ['x']), '2026-12-01T10:01:00Z'],
    ]);
    const index = await archiveIndex(store, LIST);
    expect(index.posts.filter((p) => p.parentId === null)).toHaveLength(1);
    expect(new Set(index.posts.map((p) => p.threadId)).size).toBe(1);
  });

  it('gives a message back as it was, a "From " line in its body and CRLF line ends included', async () => {
    const message = Buffer.from(post('q', 'quoting', [], 'From the start\n>From quoted').toString().replace(/\n/g, '\r\n'));
    await write([[message, '2026-12-01T10:00:00Z']]);
    const index = await archiveIndex(store, LIST);
    expect((await archivedMessage(store, LIST, index.posts[0]!)).toString()).toBe(message.toString());
  });

  it('refuses a name that is not a list address before any path is made', async () => {
    await expect(archiveIndex(store, '../../switchyard.db')).rejects.toMatchObject({ code: 'SY_LIST_NAME_INVALID' });
  });
});
