/**
 * The `switchyard` command tree (commander). Each command group lives in its
 * own module and is added here with one `program.addCommand(...)` line; this
 * file only wires them up and turns every way of failing into one of the
 * exit codes of exit-codes.ts. main.ts loads it for every command but
 * `inject`, which must start without it.
 */
import { Command, CommanderError } from 'commander';
import { QueueError } from '../../queues/index.js';
import { resolveHome } from '../home.js';
import { CliError, EXIT_ERROR, EXIT_OK, EXIT_USAGE } from './exit-codes.js';
import { homeCliError } from './home-option.js';
import { queueCommand } from './queue-command.js';
import { masterCommands } from './master-commands.js';
import { configCommand } from './config-command.js';
import { listsCommand } from './lists-command.js';
import { membersCommand } from './members-command.js';
import { runInject } from './inject.js';
import { aliasesCommand } from './aliases-command.js';
import { heldCommand } from './held-command.js';
import { requestsCommand } from './requests-command.js';
import { bounceScanCommand } from './bounce-scan-command.js';
import { bouncesCommand } from './bounces-command.js';

export function buildProgram(): Command {
  const program = new Command('switchyard')
    .description('A mailing-list server in the manner of GNU Mailman 3.')
    .option('--home <dir>', 'home directory (default: $SWITCHYARD_HOME, else ./var if it exists, else /var/lib/switchyard if it exists; only start creates ./var)');
  program.addCommand(queueCommand());
  for (const command of masterCommands()) program.addCommand(command);
  program.addCommand(configCommand());
  program.addCommand(listsCommand());
  program.addCommand(membersCommand());
  // main.ts runs `inject` before this tree is even loaded; the entry is for --help (and odd argument orders).
  program.addCommand(
    new Command('inject')
      .description('queue one message from stdin, as the MTA pipe runs it (`switchyard inject --help`)')
      .helpOption(false)
      .allowUnknownOption()
      .allowExcessArguments()
      .action(async () => {
        process.exitCode = await runInject(process.argv);
      }),
  );
  program.addCommand(aliasesCommand());
  program.addCommand(heldCommand());
  program.addCommand(requestsCommand());
  program.addCommand(bouncesCommand());
  program.addCommand(bounceScanCommand());
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
  const program = buildProgram();
  try {
    await program.parseAsync([...argv]);
    // An action may have set its own code (`start --foreground` returns the master's).
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT_OK;
  } catch (error) {
    return report(error, () => resolveHome(program.opts<{ home?: string }>().home));
  }
}

/** Queue errors that mean "not there": the message names the home, the likeliest mistake being the wrong one. */
const QUEUE_NOT_FOUND = new Set(['SY_QUEUE_UNKNOWN', 'SY_QUEUE_ENTRY_MISSING']);

function report(error: unknown, home: () => string): number {
  // Commander has already printed its own message (or the help text).
  if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
  if (error instanceof CliError) {
    process.stderr.write(`switchyard: ${error.message}\n`);
    return error.exitCode;
  }
  if (error instanceof QueueError) {
    process.stderr.write(`switchyard: ${error.message}${QUEUE_NOT_FOUND.has(error.code) ? `; looked in the home ${home()}` : ''}\n`);
    return EXIT_ERROR;
  }
  // A raw EACCES from anywhere in the home: say whose home it is and what to do.
  const denied = homeCliError(error, home());
  if (denied !== undefined) {
    process.stderr.write(`switchyard: ${denied.message}\n`);
    return denied.exitCode;
  }
  const err = error instanceof Error ? error : new Error(String(error));
  process.stderr.write(`switchyard: ${process.env.SWITCHYARD_DEBUG ? (err.stack ?? err.message) : err.message}\n`);
  return EXIT_ERROR;
}
