/**
 * A one-line progress bar for long operator commands, redrawn in place with
 * `\r`. It draws only on a TTY: in a pipe or a log file the `\r` frames would
 * be noise, and scripts read the summary (or `--json`) instead.
 */

export interface ProgressStream {
  isTTY?: boolean;
  write(text: string): boolean;
}

export interface Progress {
  update(done: number, total: number): void;
  /** Clear the line so the summary that follows starts clean. */
  end(): void;
}

const BAR_WIDTH = 30;
/** Redraw at most this often: a terminal cannot show 10 000 frames a second anyway. */
const MIN_REDRAW_MS = 50;

export function renderProgress(label: string, done: number, total: number): string {
  const fraction = total === 0 ? 1 : Math.min(done / total, 1);
  const filled = Math.round(fraction * BAR_WIDTH);
  const percent = Math.floor(fraction * 100);
  return `${label} [${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${done}/${total} ${percent}%`;
}

export function createProgress(label: string, stream: ProgressStream = process.stderr, now: () => number = Date.now): Progress {
  if (stream.isTTY !== true) return { update() {}, end() {} };
  let lastDraw = -Infinity;
  let drawn = false;
  return {
    update(done, total) {
      const time = now();
      if (done < total && time - lastDraw < MIN_REDRAW_MS) return;
      lastDraw = time;
      drawn = true;
      stream.write(`\r${renderProgress(label, done, total)}\x1b[K`);
    },
    end() {
      if (drawn) stream.write('\r\x1b[K');
    },
  };
}
