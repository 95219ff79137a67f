/**
 * Digests: accepted posts gathered per list for the members whose
 * deliveryMode is a digest, sent as one issue per format (src/mail/digest.ts)
 * through `out` like any post (bulk, or VERP per the list's `verp`).
 *
 * Accumulating: store rows (Store.addDigestPost), not a file per list. The
 * incoming runner adds the post in the step that forwards it to `out`, keyed
 * by its `in` entry id with INSERT OR IGNORE: the entry run again after a
 * SIGKILL adds nothing, and one SQLite transaction is the whole append (an
 * mbox-style file would need its own torn-write recovery and duplicate
 * check, and a lock against concurrent incoming slices). The rows also carry
 * what the numbering and `digests status` need.
 *
 * Sending one list's issue (sendDigest), in this order:
 *   1. claim    one transaction: the unfinished issue if any, else a new
 *               issue (volume and number from the list's digest state) that
 *               takes every pending post. A post is in exactly one issue.
 *   2. stage    compose each format that has members, and write each as a
 *               complete `out` entry into the staging directory beside the
 *               spool (DigestOutbox.stage: a new file, fsynced), named for
 *               this attempt; its final path in `out` is chosen now.
 *   3. record   one transaction: the staged files and targets, only if the
 *               issue is still `claimed` (another sender may have won).
 *   4. release  rename each staged file to its target in `out`: one atomic
 *               rename each; a file no longer there was moved before.
 *   5. finish   one transaction: the issue is sent, its posts' bytes dropped.
 *   6. cleanup  staging files of the issue still there (never recorded) removed.
 *
 * Crash windows (the next send of the list, by the scheduler or `digests
 * send`, finishes the unfinished issue first):
 *   killed in 1: the transaction did not commit: the posts stay pending.
 *   killed in 2 or before 3 committed: the issue is `claimed`; it is composed
 *     and staged again under new names; nothing reached `out`. The files of
 *     the killed attempt are removed once the issue is sent (6, cleanup).
 *   killed in 3: committed or not, as above or below.
 *   killed in 4 or before 5: the issue is `staged`; each recorded file is
 *     moved if still there, and skipped if it is in `out` already. The rename
 *     is the one step that makes a digest leave: never twice, never lost.
 *   Two senders at once (the scheduler and the CLI): 1 hands both the same
 *     issue; 3 lets one record its files, the other removes its own and
 *     releases the recorded ones; a rename the other did first is skipped.
 */
import type { JsonObject } from '../../queues/index.js';
import { composeDigest } from '../mail/digest.js';
import { bouncesAddress } from '../mail/verp.js';
import { DELIVERY_MODES, type DigestIssue, type DigestMode, type DigestStatus, type ListSettings, type MailingList, type StagedDigest } from '../store/index.js';
import type { AppContext } from './context.js';

export const DIGEST_MODES = DELIVERY_MODES.filter((mode): mode is DigestMode => mode !== 'regular');

/** Where composed digests go: complete `out` entries written aside, then moved in (src/app/digest-outbox.ts). */
export interface DigestOutbox {
  /** Write an `out` entry to a new staging file named after `name`; where it is and where in `out` it goes. */
  stage(name: string, message: Buffer, metadata: JsonObject): Promise<{ staging: string; target: string }>;
  /** Move a staged entry into `out`; false when the staging file is gone (moved before). */
  release(staged: { staging: string; target: string }): Promise<boolean>;
  /** Remove a staging file this sender wrote but lost the race to record. */
  discard(staging: string): Promise<void>;
  /** Remove every staging file whose name starts with `prefix-` (an issue's leftovers once it is sent); how many. */
  cleanup(prefix: string): Promise<number>;
}

export type DigestContext = Pick<AppContext, 'store' | 'now' | 'log'> & { outbox: DigestOutbox };

/** The period a volume covers, as a key: a volume ends when the key changes (UTC). */
export function volumePeriod(frequency: ListSettings['digestVolumeFrequency'], at: Date): string {
  const year = at.getUTCFullYear();
  const month = at.getUTCMonth();
  switch (frequency) {
    case 'yearly':
      return `${year}`;
    case 'quarterly':
      return `${year}-Q${Math.floor(month / 3) + 1}`;
    case 'monthly':
      return `${year}-${String(month + 1).padStart(2, '0')}`;
    case 'weekly':
      // Weeks from Monday 1970-01-05: the same key for Monday to Sunday.
      return `W${Math.floor((Date.UTC(year, month, at.getUTCDate()) / 86_400_000 - 4) / 7)}`;
    case 'daily':
      return at.toISOString().slice(0, 10);
  }
}

export interface PostForDigest {
  /** The queue entry that carried the post: a re-run of it adds nothing. */
  entryKey: string;
  message: Buffer;
  sender: string | null;
  subject: string;
  messageId: string | null;
}

/**
 * Add an accepted post to its list's digest when the list has digest
 * members: 'added', 'repeat' (this entry added it before), or 'no-digest-members'.
 * `post` is called only when there are digest members: most lists have none,
 * and the entry key hashes the whole post.
 */
export async function addToDigest(ctx: Pick<AppContext, 'store' | 'now'>, list: MailingList, postOf: () => PostForDigest): Promise<'added' | 'repeat' | 'no-digest-members'> {
  const counts = await ctx.store.countDigestMembers(list.address);
  if (Object.keys(counts).length === 0) return 'no-digest-members';
  const post = postOf();
  const added = await ctx.store.addDigestPost({
    list: list.address,
    entryKey: post.entryKey,
    addedAt: ctx.now(),
    sender: post.sender ?? '',
    subject: post.subject,
    messageId: post.messageId,
    raw: post.message,
  });
  return added ? 'added' : 'repeat';
}

export interface SentIssue {
  list: string;
  volume: number;
  issue: number;
  posts: number;
  size: number;
  /** Per format: how many members it went to. */
  formats: Partial<Record<DigestMode, number>>;
  /** Finished an issue a killed sender had left. */
  resumed: boolean;
}

/** Claim, stage, record, release, finish one issue (see the module comment); null when nothing waits. */
async function sendOneIssue(ctx: DigestContext, list: MailingList): Promise<SentIssue | null> {
  const { store } = ctx;
  const claimed = await store.claimDigestIssue(list.address, { now: ctx.now(), period: volumePeriod(list.settings.digestVolumeFrequency, ctx.now()) });
  if (claimed === null) return null;
  const resumed = claimed.resumed;
  let issue: DigestIssue = claimed.issue;
  if (issue.status === 'claimed') {
    const posts = (await store.digestIssuePosts(issue.id)).filter((post) => post.raw !== null);
    const staged: StagedDigest[] = [];
    for (const mode of DIGEST_MODES) {
      const recipients = await store.digestAddresses(list.address, mode);
      if (recipients.length === 0) continue;
      const message = await composeDigest(mode, {
        list,
        volume: issue.volume,
        issue: issue.issue,
        date: issue.createdAt,
        posts: posts.map((post) => ({ raw: post.raw!, sender: post.sender, subject: post.subject })),
      });
      const metadata: JsonObject = {
        listId: list.address,
        sender: bouncesAddress(list.address),
        recipients,
        listPosting: list.address,
        digest: { volume: issue.volume, issue: issue.issue, format: mode, posts: posts.length },
      };
      if (list.settings.verp) metadata.verp = true;
      const files = await ctx.outbox.stage(`${issue.id}-${mode}`, message, metadata);
      staged.push({ format: mode, staging: files.staging, target: files.target, recipients: recipients.length });
    }
    const recorded = await store.stageDigestIssue(issue.id, staged);
    if (!recorded.recorded) for (const file of staged) await ctx.outbox.discard(file.staging);
    issue = recorded.issue;
  }
  for (const file of issue.staged) {
    const moved = await ctx.outbox.release(file);
    if (!moved) ctx.log?.info({ list: list.address, issue: issue.issue, format: file.format }, 'digest entry was moved to out before: not moved again');
  }
  await store.finishDigestIssue(issue.id, ctx.now());
  await ctx.outbox.cleanup(String(issue.id));
  const formats = Object.fromEntries(issue.staged.map((file) => [file.format, file.recipients])) as Partial<Record<DigestMode, number>>;
  ctx.log?.info({ list: list.address, volume: issue.volume, issue: issue.issue, posts: issue.posts, formats, resumed }, 'digest sent');
  return { list: list.address, volume: issue.volume, issue: issue.issue, posts: issue.posts, size: issue.size, formats, resumed };
}

/**
 * Send the list's digest now: first an issue a killed sender left
 * unfinished, then one with every pending post. The issues sent (none when
 * nothing waited).
 */
export async function sendDigest(ctx: DigestContext, listAddress: string): Promise<SentIssue[]> {
  const list = await ctx.store.getList(listAddress);
  const sent: SentIssue[] = [];
  // At most: the unfinished issue, then the pending posts.
  for (let i = 0; i < 2; i++) {
    const issue = await sendOneIssue(ctx, list);
    if (issue === null) break;
    sent.push(issue);
    if (!issue.resumed) break;
  }
  return sent;
}

export interface DigestListStatus extends DigestStatus {
  digestMembers: Partial<Record<DigestMode, number>>;
  sizeThreshold: number;
  sendPeriodic: string;
  volumeFrequency: ListSettings['digestVolumeFrequency'];
}

/** Every list's digest numbering, pending posts and size, and digest members per format. */
export async function digestsStatus(ctx: Pick<AppContext, 'store'>): Promise<DigestListStatus[]> {
  const result: DigestListStatus[] = [];
  for (const list of await ctx.store.lists()) {
    const status = await ctx.store.digestStatus(list.address);
    result.push({
      ...status,
      digestMembers: await ctx.store.countDigestMembers(list.address),
      sizeThreshold: list.settings.digestSizeThreshold,
      sendPeriodic: list.settings.digestSendPeriodic,
      volumeFrequency: list.settings.digestVolumeFrequency,
    });
  }
  return result;
}

/** Whether a cron expression fires in the minute of `at` (server time); false for an invalid one. */
export type CronMatcher = (expression: string, at: Date) => boolean;

/**
 * The scheduler's pass, every `[cron] digests` run: for each list, finish an
 * unfinished issue, and send one when the pending posts reach
 * digestSizeThreshold KB or the list's digestSendPeriodic fires this minute.
 * A failing list is logged and the others go on.
 */
export async function runDigestsPass(ctx: DigestContext, at: Date, matches: CronMatcher): Promise<{ sent: SentIssue[]; failed: string[] }> {
  const sent: SentIssue[] = [];
  const failed: string[] = [];
  for (const list of await ctx.store.lists()) {
    try {
      const status = await ctx.store.digestStatus(list.address);
      const bySize = list.settings.digestSizeThreshold > 0 && status.pendingSize >= list.settings.digestSizeThreshold * 1024;
      const periodic = list.settings.digestSendPeriodic !== '' && status.pendingPosts > 0 && matches(list.settings.digestSendPeriodic, at);
      if (status.unfinished === null && !(status.pendingPosts > 0 && (bySize || periodic))) continue;
      sent.push(...(await sendDigest(ctx, list.address)));
    } catch (error) {
      failed.push(list.address);
      ctx.log?.error({ err: error, list: list.address }, 'digest pass: this list failed; the next run tries again');
    }
  }
  return { sent, failed };
}
