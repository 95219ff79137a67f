/**
 * A home's application context in the test's own process, built as a CLI
 * command builds it (src/cli/app-context.ts appContextOf: the home's config
 * and store, spool enqueueing, the MTA-file regeneration on list changes):
 * for a test's set-up (lists, settings, members) and for looking at state
 * (pending requests) where the CLI is not what the test is about. Each CLI
 * run is a node start-up, ~0.35 s of CPU; the CLI itself is tested in test/cli.
 */
import { loadConfig } from '../../src/config/load.js';
import { homePaths } from '../../src/home.js';
import { openStore, storeOptions } from '../../src/store/index.js';
import { appContextOf } from '../../src/cli/app-context.js';
import type { AppContext } from '../../src/app/context.js';

/** Run `work` on the home's application context; the store is closed after (also when `work` throws). */
export async function withHomeApp<T>(home: string, work: (app: AppContext) => Promise<T>): Promise<T> {
  const config = (await loadConfig(homePaths(home).config)).config;
  const store = openStore(home, storeOptions(config));
  try {
    return await work(appContextOf(store, { home, config }));
  } finally {
    await store.close();
  }
}

/** A list change's result (createList, removeList), or an error when the change stood but what follows it (the MTA files) failed, as the CLI exits 1 then. */
export function strict<T extends { subscriberErrors: readonly Error[] }>(result: T): T {
  if (result.subscriberErrors.length > 0) throw new AggregateError(result.subscriberErrors, 'a list event subscriber failed');
  return result;
}
