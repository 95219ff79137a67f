#!/usr/bin/env node
/**
 * The `switchyard` command. Each command group lives in its own module and is
 * added here with one `program.addCommand(...)` line; this file only wires
 * them up and turns every way of failing into one of the exit codes of
 * exit-codes.ts.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { QueueError } from '../../queues/index.js';
import { CliError, EXIT_ERROR, EXIT_OK, EXIT_USAGE } from './exit-codes.js';
import { queueCommand } from './queue-command.js';
import { masterCommands } from './master-commands.js';
import { configCommand } from './config-command.js';
import { listsCommand } from './lists-command.js';
import { membersCommand } from './members-command.js';

export function buildProgram(): Command {
  const program = new Command('switchyard')
    .description('A mailing-list server in the manner of GNU Mailman 3.')
    .option('--home <dir>', 'home directory (default: $SWITCHYARD_HOME, else ./var)');
  program.addCommand(queueCommand());
  for (const command of masterCommands()) program.addCommand(command);
  program.addCommand(configCommand());
  program.addCommand(listsCommand());
  program.addCommand(membersCommand());
  configureTree(program);
  return program;
}

/**
 * addCommand() does not pass settings down to commands built elsewhere, so
 * apply them to the whole tree once it is complete: commander then throws
 * instead of calling process.exit, and run() picks the exit code.
 */
function configureTree(command: Command): void {
  command
    .exitOverride()
    .showHelpAfterError('(add --help for usage)')
    .configureOutput({ outputError: (text, write) => write(`switchyard: ${text.replace(/^error: /, '')}`) });
  for (const sub of command.commands) configureTree(sub);
}

/** Parse and run `argv`; resolves with the exit code instead of exiting, so pending output drains. */
export async function run(argv: readonly string[] = process.argv): Promise<number> {
  try {
    await buildProgram().parseAsync([...argv]);
    // An action may have set its own code (`start --foreground` returns the master's).
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT_OK;
  } catch (error) {
    return report(error);
  }
}

function report(error: unknown): number {
  // Commander has already printed its own message (or the help text).
  if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
  if (error instanceof CliError) {
    process.stderr.write(`switchyard: ${error.message}\n`);
    return error.exitCode;
  }
  if (error instanceof QueueError) {
    process.stderr.write(`switchyard: ${error.message}\n`);
    return EXIT_ERROR;
  }
  const err = error instanceof Error ? error : new Error(String(error));
  process.stderr.write(`switchyard: ${process.env.SWITCHYARD_DEBUG ? (err.stack ?? err.message) : err.message}\n`);
  return EXIT_ERROR;
}

function isMainModule(): boolean {
  const entry = process.argv[1];
  if (entry === undefined) return false;
  try {
    // npm installs the bin as a symlink; import.meta.url is the real path.
    return realpathSync(entry) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
}

if (isMainModule()) {
  // Queue files are created 0660 and directories 0770 (the Postfix and Mailman
  // convention): members of the switchyard group may read the spool, others
  // nothing, whatever umask the operator's shell has.
  process.umask(0o007);
  // `switchyard queue show --raw ID | head` closes the pipe early: that is not an error.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(EXIT_OK);
    throw error;
  });
  process.exitCode = await run();
}
