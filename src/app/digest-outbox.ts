/**
 * The DigestOutbox (src/app/digests.ts) on a home's spool: a composed digest
 * is written as a complete `out` entry into `<home>/digests/` (the same file
 * system as `<home>/queues/`, so moving it in is one rename), under a name
 * that is this attempt's own (`<issue id>-<format>.<random>.pck`); its id
 * and path in `out` are chosen when it is written (Switchboard.newEntry).
 *
 * Files and crash windows:
 *   stage    writeNewFile: temp file, fdatasync, rename, directory fsync
 *            (per durability). Killed before the rename: a `.tmp` is left
 *            (removed with the leftovers); after: a complete staged
 *            file that the store does not name yet (the issue is composed
 *            again; this one is a leftover).
 *   release  rename into `out` (creating the shard directory), then fsync
 *            of that directory. ENOENT: it was moved before (false).
 *   cleanup  after the issue is sent: every file of that issue still here
 *            was never recorded (a losing or killed attempt): removed.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { encodeEntry, fsyncDirectory, renameCreatingDir, Switchboard, writeNewFile, type JsonObject } from '../../queues/index.js';
import { OUT_QUEUE, SWITCHBOARD_OPTIONS } from '../../runners/queue-ids.js';
import type { DigestOutbox } from './digests.js';

export function spoolDigestOutbox(paths: { queues: string; staging: string }, durability: 'fsync' | 'none'): DigestOutbox {
  const out = new Switchboard({ root: paths.queues, name: OUT_QUEUE, durability, ...SWITCHBOARD_OPTIONS });
  const write = { fsync: durability === 'fsync', mode: 0o660 };
  return {
    async stage(name, message, metadata: JsonObject) {
      await mkdir(paths.staging, { recursive: true, mode: 0o770 });
      const entry = await out.newEntry(metadata, {}, message);
      const staging = join(paths.staging, `${name}.${randomBytes(6).toString('hex')}.pck`);
      await writeNewFile(staging, encodeEntry(metadata, entry.control, message), write);
      return { staging, target: entry.path };
    },
    async release({ staging, target }) {
      try {
        await renameCreatingDir(staging, target);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
        throw error;
      }
      if (write.fsync) await fsyncDirectory(dirname(target));
      return true;
    },
    async discard(staging) {
      await unlink(staging).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error;
      });
    },
    async cleanup(prefix) {
      let names: string[];
      try {
        names = await readdir(paths.staging);
      } catch {
        return 0;
      }
      const stale = names.filter((file) => file.startsWith(`${prefix}-`));
      for (const file of stale) await unlink(join(paths.staging, file)).catch(() => undefined);
      return stale.length;
    },
  };
}
