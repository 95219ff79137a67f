/**
 * Rewrite every MTA file from the store's lists: what `switchyard aliases`
 * does, and what `lists create` / `lists remove` do after their change.
 */
import type { Config } from '../config/schema.js';
import type { Store } from '../store/index.js';
import { writeMtaFiles, type WrittenFiles } from './mta-files.js';

export async function regenerateMtaFiles(home: string, config: Config, store: Store): Promise<WrittenFiles & { lists: number }> {
  const lists = (await store.lists()).map((list) => ({ name: list.name, domain: list.domain }));
  return { ...(await writeMtaFiles(home, config, lists)), lists: lists.length };
}
