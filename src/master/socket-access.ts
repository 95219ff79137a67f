/**
 * Why this process may not connect to `<home>/master.sock`, in words an
 * operator can act on: which user we run as, who owns the home directory and
 * the socket (names from /etc/passwd and /etc/group where they are listed),
 * and which user or group to use instead.
 */
import { readFileSync, statSync, type Stats } from 'node:fs';
import { userInfo } from 'node:os';
import { dirname } from 'node:path';

/** uid or gid to name, from a passwd/group style file; the number itself when unlisted. */
function nameOf(file: string, id: number): string {
  try {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const fields = line.split(':');
      if (fields.length > 2 && Number(fields[2]) === id) return fields[0]!;
    }
  } catch {
    // No such file (a container without /etc/group): the number will do.
  }
  return String(id);
}

function describe(stats: Stats): string {
  return `owned by user ${nameOf('/etc/passwd', stats.uid)}, group ${nameOf('/etc/group', stats.gid)}, mode ${(stats.mode & 0o777).toString(8).padStart(4, '0')}`;
}

function statOrUndefined(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

export function explainSocketAccess(socketPath: string, code: string): string {
  const home = dirname(socketPath);
  const me = userInfo();
  const who = `user ${me.username} (uid ${me.uid})`;
  const homeStats = statOrUndefined(home);
  const socketStats = statOrUndefined(socketPath);
  const owner = socketStats ?? homeStats;
  const parts = [`${who} lacks permission to reach the master's socket ${socketPath} (${code})`];
  if (homeStats) parts.push(`the home ${home} is ${describe(homeStats)}`);
  if (socketStats) parts.push(`the socket is ${describe(socketStats)}`);
  const advice = owner
    ? `run this as user ${nameOf('/etc/passwd', owner.uid)} (or as a member of group ${nameOf('/etc/group', owner.gid)}, if the home and socket let the group in)`
    : 'run this as the user the master runs as';
  return `${parts.join('; ')}: ${advice}`;
}
