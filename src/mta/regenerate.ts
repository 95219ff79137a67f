/**
 * Rewrite every MTA file from the store's lists: what `switchyard aliases`
 * does, and, subscribed to the list lifecycle events (src/app/events.ts),
 * what follows every list creation and removal.
 */
import { SwitchyardError } from '../errors.js';
import type { AppEvents } from '../app/events.js';
import type { Config } from '../config/schema.js';
import type { Store } from '../store/index.js';
import { writeMtaFiles, type WrittenFiles } from './mta-files.js';

export async function regenerateMtaFiles(home: string, config: Config, store: Store): Promise<WrittenFiles & { lists: number }> {
  const lists = (await store.lists()).map((list) => ({ name: list.name, domain: list.domain }));
  return { ...(await writeMtaFiles(home, config, lists)), lists: lists.length };
}

/** The list change happened, but the MTA files still describe the lists before it. */
export class MtaFilesStaleError extends SwitchyardError {
  constructor(cause: unknown) {
    super('SY_MTA_FILES_STALE', `the MTA files were not rewritten (${cause instanceof Error ? cause.message : String(cause)}); run \`switchyard aliases\` once fixed`, { cause });
  }
}

/** Rewrite the MTA files on every ListCreated and ListRemoved; a failure is an MtaFilesStaleError. */
export function regenerateOnListChange(events: AppEvents, home: string, config: Config, store: Store): void {
  const regenerate = async (): Promise<void> => {
    try {
      await regenerateMtaFiles(home, config, store);
    } catch (error) {
      throw new MtaFilesStaleError(error);
    }
  };
  events.on('ListCreated', regenerate);
  events.on('ListRemoved', regenerate);
}
