/**
 * What a runner could not read in its slice, kept for `switchyard status`:
 * entries set aside in `bad` since the process started, entries left in
 * place because even setting them aside failed, and shard directories it
 * could not list. One line sums it up (Runner.statusDetail()). In memory
 * only: a restarted runner finds what is still wrong again, and the log has
 * every case at error level.
 */
import type { UnlistableDirectory, UnreadableEntryError } from '../queues/index.js';

/** How many of each kind the status line names; the rest are counted. */
const NAMED = 10;

/** A few words for the status line; the log and `queue show` have the whole reason. */
const SHORT: Record<string, string> = {
  EISDIR: 'a directory',
  ELOOP: 'a symbolic link',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EIO: 'I/O error',
};

interface Problem {
  id: string;
  reason: string;
  /** Where the file was left (its `.pck` or `.bak`). */
  path?: string;
}

function named(problems: readonly Problem[], what: (p: Problem) => string): string {
  const shown = problems.slice(-NAMED).map(what).join('; ');
  return problems.length > NAMED ? `${shown}; and ${problems.length - NAMED} more` : shown;
}

export class SpoolProblems {
  private setAsideCount = 0;
  /** The latest few set aside, for the status line. */
  private readonly recentSetAside: Problem[] = [];
  private readonly stuck = new Map<string, Problem>();
  private unlistable: UnlistableDirectory[] = [];

  /** Record an unreadable entry. Returns whether it is news (worth a log line and a status update). */
  note(error: UnreadableEntryError): boolean {
    if (error.setAside) {
      this.stuck.delete(error.id);
      this.setAsideCount++;
      this.recentSetAside.push({ id: error.id, reason: SHORT[error.errno ?? ''] ?? error.reason.split(',')[0]! });
      if (this.recentSetAside.length > NAMED) this.recentSetAside.shift();
      return true;
    }
    const before = this.stuck.get(error.id);
    this.stuck.set(error.id, { id: error.id, reason: error.reason, ...(error.leftAt ? { path: error.leftAt } : {}) });
    return before?.reason !== error.reason;
  }

  /** An entry that was stuck was read, or is gone: forget it. Returns whether it was stuck. */
  resolved(id: string): boolean {
    return this.stuck.delete(id);
  }

  /**
   * After a full listing of the waiting entries: forget stuck `.pck` files no
   * longer there (an operator moved them). A stuck `.bak` stays until the next
   * start, when recovery looks at it again. Returns whether anything changed.
   */
  forgetGone(waiting: { has(id: string): boolean }): boolean {
    let changed = false;
    for (const [id, problem] of this.stuck) {
      if (problem.path?.endsWith('.pck') && !waiting.has(id)) changed = this.stuck.delete(id) || changed;
    }
    return changed;
  }

  /** Replace the unlistable directories with a new listing's: which are new (to log), and whether the line changed. */
  setUnlistable(dirs: readonly UnlistableDirectory[]): { added: UnlistableDirectory[]; changed: boolean } {
    const key = (d: UnlistableDirectory): string => `${d.path}\0${d.reason}`;
    const known = new Set(this.unlistable.map(key));
    const added = dirs.filter((d) => !known.has(key(d)));
    const changed = added.length > 0 || dirs.length !== this.unlistable.length;
    this.unlistable = [...dirs];
    return { added, changed };
  }

  /** One line for `switchyard status`, or undefined when all is well. */
  line(): string | undefined {
    const parts: string[] = [];
    if (this.setAsideCount > 0) {
      const latest = named(this.recentSetAside, (p) => `${p.id} (${p.reason})`);
      parts.push(`${this.setAsideCount} unreadable queue file${this.setAsideCount === 1 ? '' : 's'} set aside in bad since start, latest ${latest}; \`queue show ID\` says why`);
    }
    if (this.stuck.size > 0) {
      parts.push(`${this.stuck.size} unreadable queue file${this.stuck.size === 1 ? '' : 's'} left in place (${named([...this.stuck.values()], (p) => `${p.path ?? p.id}: ${p.reason}`)})`);
    }
    if (this.unlistable.length > 0) {
      parts.push(`${this.unlistable.length} shard director${this.unlistable.length === 1 ? 'y' : 'ies'} not listable, their entries wait (${named(this.unlistable.map((d) => ({ id: d.path, reason: d.reason })), (p) => p.reason)})`);
    }
    return parts.length === 0 ? undefined : parts.join('; ');
  }
}
