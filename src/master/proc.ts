/**
 * What this host knows about a pid: alive or not, and its command line (from
 * /proc, where there is one), so a pid recorded in `master.lock` before a
 * crash or a reboot is not mistaken for a master or a runner when the kernel
 * has since handed it to some unrelated process.
 */
import { readFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';

/** Signal 0 probes without signalling; EPERM means it exists under another user. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !isZombie(pid);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A zombie still answers signal 0, but it is dead and holds nothing; its parent just has not reaped it. */
function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The state follows the command name, which is parenthesised and may itself contain ') '.
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return false;
  }
}

/** The argv of `pid`, or undefined where /proc is missing or unreadable (then nothing can be concluded). */
export function commandLine(pid: number): string[] | undefined {
  try {
    const raw = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return raw.split('\0').filter((arg) => arg !== '');
  } catch {
    return undefined;
  }
}

/** `switchyard ... start`, however it was launched (installed bin, `node dist/src/cli/main.js`, the daemon re-exec). */
export function looksLikeMaster(argv: readonly string[]): boolean {
  return argv.includes('start') && argv.some((arg) => arg.includes('switchyard') || arg.endsWith('main.js'));
}

export function looksLikeRunner(argv: readonly string[]): boolean {
  return argv.some((arg) => arg.includes('runner-process'));
}

/**
 * SIGKILL each pid and wait until all are gone. Bounded: a process stuck in
 * uninterruptible I/O may take a moment, but never forever; returns the pids
 * still alive at the deadline.
 */
export async function killAndWait(pids: readonly number[], timeoutMs = 5_000): Promise<number[]> {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone, or not ours to kill: the poll below tells which.
    }
  }
  const deadline = Date.now() + timeoutMs;
  let alive = pids.filter(isAlive);
  while (alive.length > 0 && Date.now() < deadline) {
    await delay(20);
    alive = alive.filter(isAlive);
  }
  return alive;
}
