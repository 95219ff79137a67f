/**
 * The home directory of a command line: `--home`, else SWITCHYARD_HOME, else
 * the search of src/home.ts. Every command but `start` needs one that
 * exists (only `start` creates a home): a missing home or one this user may
 * not enter is a CliError saying so (exit 1). Light on purpose (node
 * built-ins and home.ts): the queue and master commands use it too.
 */
import type { Command } from 'commander';
import { accessError, HomeAccessError, HomeMissingError, requireHome, resolveHome } from '../home.js';
import { CliError } from './exit-codes.js';

/** The home named on this command line or found by the search order, which must exist. */
export function existingHome(command: Command): string {
  const home = resolveHome(command.optsWithGlobals<{ home?: string }>().home);
  try {
    requireHome(home);
  } catch (error) {
    throw homeCliError(error, home) ?? error;
  }
  return home;
}

/** A CliError for a missing home or a permission error in it; undefined for anything else. */
export function homeCliError(error: unknown, home: string): CliError | undefined {
  if (error instanceof HomeMissingError || error instanceof HomeAccessError) return CliError.of(error, error.message);
  const denied = accessError(error, home);
  return denied === undefined ? undefined : CliError.of(denied, denied.message);
}
