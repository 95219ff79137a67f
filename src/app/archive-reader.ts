/**
 * Reading a list's mbox archive (`<home>/archives/<list>.mbox`, written by
 * the archive runner, runners/archive.ts) for the web: an index of its
 * records (offset, length, key, arrival date, Subject, From, Message-ID,
 * In-Reply-To, References), months, threads, and one message's bytes.
 *
 * A message's id on the web is the first 32 hex digits of its record key
 * (sha256 of its Message-ID: src/mail/mboxrd.ts archiveKey), so the URL of a
 * post is known before it is archived: the pipeline's Archived-At
 * (runners/incoming/handlers/list-headers.ts, archiveMessageId below).
 *
 * Threads: a message's parent is the last of its References (else its
 * In-Reply-To) that the archive holds (wherever in the file: posts are
 * archived in the order they were processed); a thread is a root and everything
 * under it. Only a list address that parseListAddress accepts ever names a
 * file, so no URL can reach a path outside the archives directory.
 *
 * Read-only: nothing is written. The index is kept per file and rebuilt when
 * its size or mtime changes (the runner only appends).
 */
import { open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import libmime from 'libmime';
import { readRecordHeader, unquoteMboxrd } from '../mail/mboxrd.js';
import { RawMessage } from '../mail/raw-message.js';
import { parseListAddress } from '../store/index.js';

export interface ArchivedPost {
  /** 32 hex digits: the id in its URL. */
  id: string;
  offset: number;
  length: number;
  /** When the list received it (the From_ line). */
  date: Date;
  subject: string;
  from: string;
  messageId: string | null;
  parentId: string | null;
  /** The id of its thread's first message. */
  threadId: string;
  depth: number;
}

export interface ArchiveIndex {
  /** In arrival order (the date of the From_ line; the file's order where two are equal). */
  posts: ArchivedPost[];
  byId: Map<string, ArchivedPost>;
  /** Children in date order. */
  children: Map<string, ArchivedPost[]>;
}

export const ARCHIVE_ID = /^[0-9a-f]{32}$/;
export const ARCHIVE_MONTH = /^\d{4}-(0[1-9]|1[0-2])$/;

export { archiveMessageId } from '../mail/archive-id.js';

/** The archive file of a list; throws ListNameInvalidError for anything that is not a list address. */
export function archiveFile(home: string, list: string): string {
  return join(home, 'archives', `${parseListAddress(list).address}.mbox`);
}

const MONTHS: Record<string, number> = { Jan: 0, Feb: 1, Mar: 2, Apr: 3, May: 4, Jun: 5, Jul: 6, Aug: 7, Sep: 8, Oct: 9, Nov: 10, Dec: 11 };

function fromLineDate(line: string): Date | null {
  const match = /(\w{3}) (\w{3}) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2}) (\d{4})$/.exec(line);
  if (match === null || MONTHS[match[2]!] === undefined) return null;
  return new Date(Date.UTC(Number(match[7]), MONTHS[match[2]!]!, Number(match[3]), Number(match[4]), Number(match[5]), Number(match[6])));
}

function decoded(value: string | undefined): string {
  if (value === undefined) return '';
  try {
    return libmime.decodeWords(value);
  } catch {
    return value;
  }
}

const MESSAGE_IDS = /<[^<>\s]+>/g;

interface Cached {
  size: number;
  mtimeMs: number;
  index: ArchiveIndex;
}

const cache = new Map<string, Cached>();

function buildIndex(bytes: Buffer): ArchiveIndex {
  const posts: ArchivedPost[] = [];
  const parents = new Map<ArchivedPost, string[]>();
  let offset = 0;
  while (offset < bytes.length) {
    const header = readRecordHeader(bytes.subarray(offset, offset + 256));
    // Records the runner wrote carry their length; anything else (a foreign mbox, a torn tail) ends the index.
    if (header === undefined || header.length <= 0 || offset + header.length > bytes.length) break;
    const record = bytes.subarray(offset, offset + header.length);
    const lineEnd = record.indexOf(0x0a);
    const fieldEnd = record.indexOf(0x0a, lineEnd + 1);
    const headEnd = record.indexOf('\n\n', fieldEnd + 1);
    const head = RawMessage.parse(Buffer.concat([record.subarray(fieldEnd + 1, headEnd < 0 ? record.length : headEnd + 1), Buffer.from('\n')]));
    const messageId = head.get('message-id')?.match(MESSAGE_IDS)?.[0] ?? null;
    const refs = [...(head.get('references')?.match(MESSAGE_IDS) ?? []), ...(head.get('in-reply-to')?.match(MESSAGE_IDS) ?? []).slice(0, 1)];
    const post: ArchivedPost = {
      id: header.key.slice(0, 32),
      offset,
      length: header.length,
      date: fromLineDate(record.toString('latin1', 0, lineEnd)) ?? new Date(0),
      subject: decoded(head.get('subject')),
      from: decoded(head.get('from')),
      messageId,
      parentId: null,
      threadId: '',
      depth: 0,
    };
    posts.push(post);
    parents.set(post, refs);
    offset += header.length;
  }
  // The runner archives posts in the order they were processed, which concurrent runners may change a little.
  posts.sort((a, b) => a.date.getTime() - b.date.getTime() || a.offset - b.offset);
  const byId = new Map(posts.map((post) => [post.id, post]));
  const byMessageId = new Map(posts.filter((p) => p.messageId !== null).map((p) => [p.messageId as string, p]));
  posts.forEach((post) => {
    const refs = parents.get(post) ?? [];
    for (let i = refs.length - 1; i >= 0; i--) {
      const parent = byMessageId.get(refs[i]!);
      // The archive's order is the order posts were processed, not written: a reply may come before its parent.
      if (parent !== undefined && parent !== post) {
        post.parentId = parent.id;
        break;
      }
    }
  });
  // References that go round in a circle (forged or broken) are cut where the walk up meets itself.
  for (const post of posts) {
    const seen = new Set<string>([post.id]);
    let at = post;
    while (at.parentId !== null) {
      if (seen.has(at.parentId)) {
        at.parentId = null;
        break;
      }
      seen.add(at.parentId);
      at = byId.get(at.parentId) as ArchivedPost;
    }
  }
  const placed = new Set<string>();
  const place = (post: ArchivedPost): void => {
    if (placed.has(post.id)) return;
    const parent = post.parentId === null ? undefined : byId.get(post.parentId);
    if (parent !== undefined) place(parent);
    post.threadId = parent === undefined ? post.id : parent.threadId;
    post.depth = parent === undefined ? 0 : parent.depth + 1;
    placed.add(post.id);
  };
  const children = new Map<string, ArchivedPost[]>();
  for (const post of posts) {
    place(post);
    if (post.parentId !== null) children.set(post.parentId, [...(children.get(post.parentId) ?? []), post]);
  }
  for (const list of children.values()) list.sort((a, b) => a.date.getTime() - b.date.getTime());
  return { posts, byId, children };
}

/** The index of a list's archive; an empty one when the list has no archive file yet. */
export async function archiveIndex(home: string, list: string): Promise<ArchiveIndex> {
  const file = archiveFile(home, list);
  let info;
  try {
    info = await stat(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { posts: [], byId: new Map(), children: new Map() };
    throw error;
  }
  const cached = cache.get(file);
  if (cached !== undefined && cached.size === info.size && cached.mtimeMs === info.mtimeMs) return cached.index;
  const handle = await open(file, 'r');
  let bytes: Buffer;
  try {
    bytes = Buffer.alloc(info.size);
    await handle.read(bytes, 0, info.size, 0);
  } finally {
    await handle.close();
  }
  const index = buildIndex(bytes);
  cache.set(file, { size: info.size, mtimeMs: info.mtimeMs, index });
  return index;
}

/** `YYYY-MM` of a post (UTC). */
export function monthOf(post: ArchivedPost): string {
  return post.date.toISOString().slice(0, 7);
}

/** Months with posts, newest first, with their counts. */
export function archiveMonths(index: ArchiveIndex): { month: string; count: number }[] {
  const counts = new Map<string, number>();
  for (const post of index.posts) counts.set(monthOf(post), (counts.get(monthOf(post)) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[0].localeCompare(a[0])).map(([month, count]) => ({ month, count }));
}

/** A thread in depth-first order (each reply under its parent, in date order). */
export function threadPosts(index: ArchiveIndex, threadId: string): ArchivedPost[] {
  const root = index.byId.get(threadId);
  if (root === undefined) return [];
  const out: ArchivedPost[] = [];
  const walk = (post: ArchivedPost): void => {
    out.push(post);
    for (const child of index.children.get(post.id) ?? []) walk(child);
  };
  walk(root);
  return out;
}

/** The threads with posts in `month`: each its root and the month's posts in it, newest activity first. */
export function monthThreads(index: ArchiveIndex, month: string): { root: ArchivedPost; posts: ArchivedPost[] }[] {
  const threads = new Set<string>();
  for (const post of index.posts) if (monthOf(post) === month) threads.add(post.threadId);
  const latest = (posts: ArchivedPost[]): number => Math.max(...posts.map((p) => p.date.getTime()));
  return [...threads]
    .map((threadId) => ({ root: index.byId.get(threadId) as ArchivedPost, posts: threadPosts(index, threadId).filter((p) => monthOf(p) === month) }))
    .sort((a, b) => latest(b.posts) - latest(a.posts));
}

/** A post's bytes as it was archived (mboxrd quoting undone, the archive's own field dropped). */
export async function archivedMessage(home: string, list: string, post: ArchivedPost): Promise<Buffer> {
  const handle = await open(archiveFile(home, list), 'r');
  try {
    const record = Buffer.alloc(post.length);
    await handle.read(record, 0, post.length, post.offset);
    const lineEnd = record.indexOf(0x0a);
    const fieldEnd = record.indexOf(0x0a, lineEnd + 1);
    return unquoteMboxrd(record.subarray(fieldEnd + 1, record.length - 1));
  } finally {
    await handle.close();
  }
}

/** Posts the list received in the UTC month of `now` (the overview's "posts this month"). */
export async function postsThisMonth(home: string, list: string, now: Date): Promise<number> {
  const month = now.toISOString().slice(0, 7);
  return (await archiveIndex(home, list)).posts.filter((post) => monthOf(post) === month).length;
}
