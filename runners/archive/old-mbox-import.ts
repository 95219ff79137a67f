/**
 * The archive runner's mbox files from before the archive moved into the
 * store (`<home>/archives/<name@domain>.mbox`), imported into the store once,
 * at the runner's start: each file is read streaming (src/app/archive.ts
 * importMbox), then renamed `<name@domain>.mbox.imported` (kept: nothing is
 * lost, and it is not imported twice).
 *
 * Crash windows: killed during a file's import, the file is still `.mbox`
 * and the next start imports it again from the start (the rows already in
 * are recognised by key and not added twice); killed after the import,
 * before the rename, the same. A record the old runner left torn by a crash
 * mid-write is skipped: its entry was archived again after that crash.
 *
 * Only a file whose name is a list address parseListAddress accepts is read;
 * others are left alone, with a warning.
 */
import { readdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { importMbox } from '../../src/app/archive.js';
import { parseListAddress, type Store } from '../../src/store/index.js';

export const IMPORTED_SUFFIX = '.imported';

/** Import every `<home>/archives/*.mbox`; resolves to the files imported. A failure (a busy store) throws, leaving the file to the next attempt. */
export async function importOldMboxFiles(home: string, store: Store, log: Logger): Promise<string[]> {
  const dir = join(home, 'archives');
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const done: string[] = [];
  for (const name of names.filter((n) => n.endsWith('.mbox')).sort()) {
    let list: string;
    try {
      list = parseListAddress(name.slice(0, -'.mbox'.length)).address;
    } catch {
      log.warn({ file: join(dir, name) }, 'archive: an mbox file not named after a list address; not imported');
      continue;
    }
    const file = join(dir, name);
    const result = await importMbox({ store }, list, file, { quoting: 'mboxrd' });
    await rename(file, `${file}${IMPORTED_SUFFIX}`);
    log.info(result, `archive: the old mbox file was imported into the store and renamed ${name}${IMPORTED_SUFFIX}`);
    done.push(file);
  }
  return done;
}
