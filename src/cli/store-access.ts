/**
 * How the lists and members commands reach the store: the home directory
 * from `--home`, the busy timeout from switchyard.toml, and the store's
 * errors turned into exit codes (exit-codes.ts): an unknown list or member
 * is exit 1; an invalid address, list name or setting given on the command
 * line is exit 2 (bad usage).
 */
import type { Command } from 'commander';
import { ConfigError, loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { ensureHome, HomeMissingError, homePaths, resolveHome } from '../home.js';
import { openStore, storeOptions, StoreError, type Store } from '../store/index.js';
import { CliError, EXIT_ERROR, EXIT_USAGE } from './exit-codes.js';

/** Codes that mean the operator typed something invalid. */
const USAGE_CODES = new Set(['SY_ADDRESS_INVALID', 'SY_LIST_NAME_INVALID', 'SY_LIST_SETTING']);

/** What a command working on the store may also need: where the home is, and its configuration. */
export interface StoreContext {
  home: string;
  config: Config;
}

/** Open the home's store, run `work`, close it; store errors become CliErrors. */
export async function withStore<T>(command: Command, work: (store: Store, context: StoreContext) => Promise<T>): Promise<T> {
  const { home: option } = command.optsWithGlobals<{ home?: string }>();
  const home = resolveHome(option);
  let store: Store;
  let config: Config;
  try {
    await ensureHome(home);
    config = (await loadConfig(homePaths(home).config)).config;
    store = openStore(home, storeOptions(config));
  } catch (error) {
    throw asCliError(error);
  }
  try {
    return await work(store, { home, config });
  } catch (error) {
    throw asCliError(error);
  } finally {
    await store.close();
  }
}

export function asCliError(error: unknown): unknown {
  if (error instanceof StoreError) return new CliError(error.message, USAGE_CODES.has(error.code) ? EXIT_USAGE : EXIT_ERROR);
  if (error instanceof ConfigError || error instanceof HomeMissingError) return new CliError(error.message);
  return error;
}

