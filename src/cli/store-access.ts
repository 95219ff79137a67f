/**
 * How the commands reach the home and the store: the home directory by the
 * search order of src/home.ts (it must exist: only `start` creates one),
 * the busy timeout from switchyard.toml, and the store's errors turned into
 * exit codes (each error's own exitCode): an unknown list or member is
 * exit 1, naming the home looked in; an invalid address, list name or
 * setting given on the command line is exit 2 (bad usage); a permission
 * error says who owns the home. The CliError keeps the store error's code.
 */
import type { Command } from 'commander';
import { ConfigError, loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { homePaths } from '../home.js';
import { openStore, storeOptions, StoreError, type Store } from '../store/index.js';
import { isSwitchyardError } from '../errors.js';
import { CliError } from './exit-codes.js';
import { existingHome, homeCliError } from './home-option.js';

export { existingHome } from './home-option.js';

/** "Not found" codes: the message names the home, since the wrong home is the likeliest cause. */
const NOT_FOUND_CODES = new Set(['SY_LIST_UNKNOWN', 'SY_MEMBER_UNKNOWN', 'SY_HELD_UNKNOWN', 'SY_REQUEST_UNKNOWN']);

/** What a command working on the store may also need: where the home is, and its configuration. */
export interface StoreContext {
  home: string;
  config: Config;
}

/** Open the home's store, run `work`, close it; store errors become CliErrors. */
export async function withStore<T>(command: Command, work: (store: Store, context: StoreContext) => Promise<T>): Promise<T> {
  const home = existingHome(command);
  let store: Store;
  let config: Config;
  try {
    config = (await loadConfig(homePaths(home).config)).config;
    store = openStore(home, storeOptions(config));
  } catch (error) {
    throw asCliError(error, home);
  }
  try {
    return await work(store, { home, config });
  } catch (error) {
    throw asCliError(error, home);
  } finally {
    await store.close();
  }
}

/** A CliError for the errors an operator can act on; others unchanged. `home`: where the command looked. */
export function asCliError(error: unknown, home: string): unknown {
  if (error instanceof StoreError) {
    const message = NOT_FOUND_CODES.has(error.code) ? `${error.message}; looked in the home ${home}` : error.message;
    return CliError.of(error, message);
  }
  if (error instanceof ConfigError) return CliError.of(error, error.message);
  if (isSwitchyardError(error) && !(error instanceof CliError)) return CliError.of(error, error.message);
  return homeCliError(error, home) ?? error;
}

