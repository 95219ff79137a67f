/**
 * Waiting for new entries without polling: one inotify watch (fs.watch) per
 * shard directory of the slice, all on libuv's single inotify descriptor.
 * An event only raises a flag; the consumer then lists its directories. A
 * slow periodic wake-up is the safety net for events the kernel dropped (an
 * inotify queue overflow) or file systems that do not report them, and for directories
 * that could not be watched at all (no read permission: a shard directory
 * made by root), which are named in `unwatched` instead of failing the rest.
 */
import { watch, type FSWatcher } from 'node:fs';

export type WakeReason = 'entry' | 'rescan' | 'closed';

/** Names remembered between two takeNames() calls before the watcher asks for a full rescan instead. */
const MAX_REMEMBERED_NAMES = 65_536;

export class SliceWatcher {
  private readonly watchers: FSWatcher[] = [];
  /** Directories fs.watch refused, and its error: only the periodic rescan sees their entries. */
  readonly unwatched: { dir: string; error: Error }[] = [];
  private pending = false;
  private names = new Set<string>();
  private overflowed = false;
  private closed = false;
  private wakeUp: ((reason: WakeReason) => void) | undefined;
  private waiting: Promise<WakeReason> | undefined;

  constructor(
    dirs: readonly string[],
    private readonly rescanIntervalMs: number,
    private readonly suffix = '.pck',
  ) {
    for (const dir of dirs) {
      try {
        this.watchers.push(this.watchOne(dir));
      } catch (error) {
        this.unwatched.push({ dir, error: error as Error });
      }
    }
  }

  private watchOne(dir: string): FSWatcher {
    const watcher = watch(dir, { persistent: true }, (_event, filename) => {
      // A null filename means the kernel could not say which file: treat it as news.
      if (filename === null) {
        this.overflowed = true;
        this.notify('entry');
      } else if (filename.endsWith(this.suffix)) {
        this.remember(filename.slice(0, -this.suffix.length));
        this.notify('entry');
      }
    });
    watcher.on('error', () => {
      this.overflowed = true;
      this.notify('rescan');
    });
    return watcher;
  }

  /**
   * Resolves when something may have arrived since the previous call (at once
   * if it already has), after the rescan interval, or when closed. A call
   * while an earlier wait is still pending returns that same promise, so a
   * consumer that raced the wait against a timer loses nothing by calling again.
   */
  wait(): Promise<WakeReason> {
    if (this.closed) return Promise.resolve('closed');
    if (this.pending) {
      this.pending = false;
      return Promise.resolve('entry');
    }
    this.waiting ??= new Promise<WakeReason>((resolve) => {
      // setTimeout turns anything above 2^31-1 ms into 1 ms: cap it, or a huge interval would spin.
      const timer = setTimeout(() => this.notify('rescan'), Math.min(this.rescanIntervalMs, 2 ** 31 - 1));
      this.wakeUp = (reason) => {
        clearTimeout(timer);
        this.wakeUp = undefined;
        this.waiting = undefined;
        this.pending = false;
        resolve(reason);
      };
    });
    return this.waiting;
  }

  /**
   * The entry names seen in events since the last call. An event means a
   * file of that name appeared or disappeared: consumers must treat a name as
   * a hint and cope with it being gone. `complete: false` means names were
   * lost (too many, or an event without a name): list the directories instead.
   */
  takeNames(): { names: string[]; complete: boolean } {
    const taken = { names: [...this.names], complete: !this.overflowed };
    this.names.clear();
    this.overflowed = false;
    return taken;
  }

  private remember(name: string): void {
    if (this.names.size >= MAX_REMEMBERED_NAMES) this.overflowed = true;
    else this.names.add(name);
  }

  private notify(reason: WakeReason): void {
    if (this.wakeUp) this.wakeUp(reason);
    else if (reason === 'entry') this.pending = true;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const watcher of this.watchers) watcher.close();
    this.notify('closed');
  }
}
