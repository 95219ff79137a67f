/**
 * Waiting for new entries without polling: one inotify watch (fs.watch) per
 * shard directory of the slice, all on libuv's single inotify descriptor.
 * An event only raises a flag; the consumer then lists its directories. A
 * slow periodic wake-up is the safety net for events the kernel dropped (an
 * inotify queue overflow) or file systems that do not report them.
 */
import { watch, type FSWatcher } from 'node:fs';

export type WakeReason = 'entry' | 'rescan' | 'closed';

export class SliceWatcher {
  private readonly watchers: FSWatcher[] = [];
  private pending = false;
  private closed = false;
  private wakeUp: ((reason: WakeReason) => void) | undefined;

  constructor(
    dirs: readonly string[],
    private readonly rescanIntervalMs: number,
    private readonly suffix = '.pck',
  ) {
    for (const dir of dirs) {
      const watcher = watch(dir, { persistent: true }, (_event, filename) => {
        // A null filename means the kernel could not say which file: treat it as news.
        if (filename === null || filename.endsWith(this.suffix)) this.notify('entry');
      });
      watcher.on('error', () => this.notify('rescan'));
      this.watchers.push(watcher);
    }
  }

  /**
   * Resolves when something may have arrived since the previous call (at once
   * if it already has), after the rescan interval, or when closed.
   */
  wait(): Promise<WakeReason> {
    if (this.closed) return Promise.resolve('closed');
    if (this.pending) {
      this.pending = false;
      return Promise.resolve('entry');
    }
    return new Promise<WakeReason>((resolve) => {
      const timer = setTimeout(() => this.notify('rescan'), this.rescanIntervalMs);
      this.wakeUp = (reason) => {
        clearTimeout(timer);
        this.wakeUp = undefined;
        this.pending = false;
        resolve(reason);
      };
    });
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
