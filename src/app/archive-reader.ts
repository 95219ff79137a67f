/**
 * Reading a list's archive (kept in the store: src/app/archive.ts) for the
 * web: an index of its posts (key, arrival date, Subject, From, Message-ID,
 * parent by In-Reply-To/References), months, threads, and one message's bytes.
 *
 * A message's id on the web is the first 32 hex digits of its archive key
 * (sha256 of its Message-ID: src/mail/mboxrd.ts archiveKey), so the URL of a
 * post is known before it is archived: the pipeline's Archived-At
 * (runners/incoming/handlers/list-headers.ts, archiveMessageId below).
 *
 * Threads: a message's parent is the last of its References (else its
 * In-Reply-To) that the archive holds (whenever it was archived: a reply may
 * be archived before its parent); a thread is a root and everything under it.
 * Threads span months, so the index is of the whole list's archive: built
 * from the store's summaries (no bytes) and kept per store and list until
 * the archive's count changes (rows are only ever added, by any host).
 *
 * Read-only: nothing is written.
 */
import type { ArchivedMessageSummary, ArchiveCursor, Store } from '../store/index.js';
import { parseListAddress } from '../store/index.js';

export interface ArchivedPost {
  /** 32 hex digits: the id in its URL. */
  id: string;
  /** The whole archive key (64 hex digits). */
  key: string;
  /** When the list received it. */
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
  /** In archive order (date archived, then key). */
  posts: ArchivedPost[];
  byId: Map<string, ArchivedPost>;
  /** Children in date order. */
  children: Map<string, ArchivedPost[]>;
}

export const ARCHIVE_ID = /^[0-9a-f]{32}$/;
export const ARCHIVE_MONTH = /^\d{4}-(0[1-9]|1[0-2])$/;

export { archiveMessageId } from '../mail/archive-id.js';

interface Cached {
  count: number;
  index: ArchiveIndex;
}

const cache = new Map<string, Cached>();
/** Summaries read per query while building an index. */
const INDEX_PAGE = 5_000;

function buildIndex(summaries: readonly ArchivedMessageSummary[]): ArchiveIndex {
  const parents = new Map<ArchivedPost, string[]>();
  const posts: ArchivedPost[] = summaries.map((summary) => {
    const post: ArchivedPost = {
      id: summary.key.slice(0, 32),
      key: summary.key,
      date: summary.archivedAt,
      subject: summary.subject,
      from: summary.from,
      messageId: summary.messageId,
      parentId: null,
      threadId: '',
      depth: 0,
    };
    parents.set(post, [...summary.references, ...(summary.inReplyTo === null ? [] : [summary.inReplyTo])]);
    return post;
  });
  // The store gives them in archive order (date, then key).
  const byId = new Map(posts.map((post) => [post.id, post]));
  const byMessageId = new Map(posts.filter((p) => p.messageId !== null).map((p) => [p.messageId as string, p]));
  posts.forEach((post) => {
    const refs = parents.get(post) ?? [];
    for (let i = refs.length - 1; i >= 0; i--) {
      const parent = byMessageId.get(refs[i]!);
      // A reply may have been archived before its parent.
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

/** The index of a list's whole archive; throws ListNameInvalidError for anything that is not a list address. */
export async function archiveIndex(store: Store, list: string): Promise<ArchiveIndex> {
  const address = parseListAddress(list).address;
  const cacheKey = `${store.location}\0${address}`;
  const count = await store.countArchivedMessages(address);
  const cached = cache.get(cacheKey);
  if (cached !== undefined && cached.count === count) return cached.index;
  const summaries: ArchivedMessageSummary[] = [];
  let after: ArchiveCursor | undefined;
  for (;;) {
    const page = await store.archivedMessageSummaries(address, { limit: INDEX_PAGE, ...(after === undefined ? {} : { after }) });
    summaries.push(...page);
    if (page.length < INDEX_PAGE) break;
    const last = page[page.length - 1]!;
    after = { archivedAt: last.archivedAt, key: last.key };
  }
  const index = buildIndex(summaries);
  cache.set(cacheKey, { count: summaries.length, index });
  return index;
}

/** `YYYY-MM` of a post (UTC). */
export function monthOf(post: ArchivedPost): string {
  return post.date.toISOString().slice(0, 7);
}

/** Months with posts, newest first, with their counts. */
export function archiveMonths(store: Store, list: string): Promise<{ month: string; count: number }[]> {
  return store.archiveMonths(list);
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

/** A post's bytes exactly as it was archived. */
export async function archivedMessage(store: Store, list: string, post: ArchivedPost): Promise<Buffer> {
  const message = await store.archivedMessage(list, post.key);
  if (message === null) throw new Error(`the archive of ${list} has no message ${post.key}`);
  return message.raw;
}

/** Posts the list received in the UTC month of `now` (the overview's "posts this month"). */
export function postsThisMonth(store: Store, list: string, now: Date): Promise<number> {
  return store.countArchivedMessages(list, now.toISOString().slice(0, 7));
}
