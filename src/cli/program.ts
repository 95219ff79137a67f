/**
 * The `switchyard` command tree (commander), loaded lazily: a command pays
 * only for the modules it uses (`--help` loads no store, no zod, no pino).
 * This file turns every way of failing into one of the exit codes of
 * exit-codes.ts, reported as `switchyard: SY_CODE: message` on stderr, or
 * with `--json` anywhere on the command line as one JSON object
 * `{"error": {"code", "message", "temporary"}}` on stdout (same exit code).
 * main.ts loads it for every command but `inject`, which must start without it.
 *
 * THE PATTERN for adding a top-level command: one entry in COMMANDS below,
 *
 *     { name: 'digests', description: "members' digests: send a list's digest now, or show every list's digest status", load: async () => (await import('./digests-command.js')).digestsCommand() },
  { name: 'bounces', usage: '[options] <list>', description: '...', load: async () => (await import('./bounces-command.js')).bouncesCommand() },
 *
 * (`usage`: what commander shows after the name, only when the command has
 * options or arguments; for one more command of master-commands.ts,
 * `load: () => masterCommand('NAME')`). A subcommand of an existing group
 * (`queue flush`, `members disable`) needs nothing here: it goes into the
 * group's module. Never a static import of a command module here. buildProgram() loads only
 * the command that argv names (commandNameIn); every other one is a stub
 * with its name, description and usage, which is all `switchyard --help`
 * and commander's "did you mean" need. They must equal what the module
 * gives its Command (test/cli/program.test.ts checks every entry).
 * Inside a command module, import heavy modules (master.ts, mail parsing)
 * in the action with `await import()` when only some subcommands need them.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError, Help } from 'commander';
import { resolveHome } from '../home.js';
import { INTERNAL_CODE, isSwitchyardError } from '../errors.js';
import { CliError, EXIT_ERROR, EXIT_OK, EXIT_USAGE } from './exit-codes.js';
import { homeCliError } from './home-option.js';

export interface CommandEntry {
  name: string;
  /** Shown by `switchyard --help`; equal to the loaded Command's description. */
  description: string;
  /** What `--help` shows after the name, as commander would for the loaded command (`[options] <list>`); none when empty. */
  usage?: string;
  load: () => Promise<Command>;
}

/** One of the Commands of master-commands.ts (one module for start, stop, restart, reopen, status). */
async function masterCommand(name: string): Promise<Command> {
  const { masterCommands } = await import('./master-commands.js');
  const command = masterCommands().find((candidate) => candidate.name() === name);
  if (command === undefined) throw new Error(`master-commands.ts has no command ${name}`);
  return command;
}

/** Every top-level command, in the order `--help` lists them. */
export const COMMANDS: readonly CommandEntry[] = [
  { name: 'queue', description: 'inspect and repair the queues (waiting .pck, in-flight .bak, preserved .psv entries)', load: async () => (await import('./queue-command.js')).queueCommand() },
  { name: 'start', usage: '[options]', description: 'start the master and every runner; in the background unless --foreground', load: () => masterCommand('start') },
  { name: 'stop', description: 'stop the master: runners finish their entries (up to master.stopTimeout), then everything exits', load: () => masterCommand('stop') },
  { name: 'restart', usage: '[options]', description: 'restart every runner (each finishes its entries first) on the current switchyard.toml; the master stays. An invalid switchyard.toml is refused: the runners keep running the previous configuration', load: () => masterCommand('restart') },
  { name: 'reopen', description: 'reopen every log file (after logrotate has renamed them)', load: () => masterCommand('reopen') },
  { name: 'status', usage: '[options]', description: 'the master, every runner slice (pid, state, restarts, processed, failed), queue depths and work counters', load: () => masterCommand('status') },
  { name: 'config', description: 'show the configuration', load: async () => (await import('./config-command.js')).configCommand() },
  { name: 'lists', description: 'create, remove, list, show and configure mailing lists', load: async () => (await import('./lists-command.js')).listsCommand() },
  { name: 'members', description: "add, remove, list, import and export a list's members, owners and moderators", load: async () => (await import('./members-command.js')).membersCommand() },
  { name: 'inject', description: 'queue one message from stdin, as the MTA pipe runs it (`switchyard inject --help`)', load: async () => injectCommand() },
  { name: 'aliases', usage: '[options]', description: 'write the Postfix maps (LMTP and pipe) and the Exim stanza for every list into the home directory', load: async () => (await import('./aliases-command.js')).aliasesCommand() },
  { name: 'held', description: 'posts held for moderation: list, show, approve, reject, discard', load: async () => (await import('./held-command.js')).heldCommand() },
  { name: 'requests', description: 'membership requests waiting for an owner or a confirmation: list, approve, reject, discard', load: async () => (await import('./requests-command.js')).requestsCommand() },
  { name: 'digests', description: "members' digests: send a list's digest now, or show every list's digest status", load: async () => (await import('./digests-command.js')).digestsCommand() },
  { name: 'bounces', usage: '[options] <list>', description: "a list's members with bounces (score, last bounce and reason, delivery state), destinations refusing the list, complaints", load: async () => (await import('./bounces-command.js')).bouncesCommand() },
  { name: 'store', description: 'the list store: migrate its schema (PostgreSQL needs it), copy a site from SQLite to PostgreSQL', load: async () => (await import('./store-command.js')).storeCommand() },
  { name: 'tokens', description: 'API tokens of the HTTP service: create (shown once), list, revoke', load: async () => (await import('./tokens-command.js')).tokensCommand() },
  { name: 'secret', description: 'the site secret behind one-click unsubscribe links, login links and session cookies: rotate it', load: async () => (await import('./secret-command.js')).secretCommand() },
  { name: 'dkim', description: 'DKIM signing keys: make one (keygen) and check its DNS record (check)', load: async () => (await import('./dkim-command.js')).dkimCommand() },
  { name: 'archive', description: "list archives (kept in the store, one per site): export a list's archive as mboxrd", load: async () => (await import('./archive-command.js')).archiveCommand() },
  { name: 'import', description: 'import lists, members, settings, held posts, requests and archives from GNU Mailman', load: async () => (await import('./import-command.js')).importCommand() },
  { name: 'bounce-scan', usage: '[options] <file...>', description: 'classify saved bounce messages as the bounce runner would: one JSON line per file', load: async () => (await (await import('./bundles.js')).loadBundled('bounce-scan', () => import('./bounce-scan-command.js'))).bounceScanCommand() },
];

/** main.ts runs `inject` before this tree is even loaded; the entry is for --help (and odd argument orders). */
function injectCommand(): Command {
  return new Command('inject')
    .description('queue one message from stdin, as the MTA pipe runs it (`switchyard inject --help`)')
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .action(async () => {
      const { runInject } = await import('./inject.js');
      process.exitCode = await runInject(process.argv);
    });
}

/**
 * The top-level command `argv` (process.argv) names: the first word after
 * the global options, or for `help NAME` the NAME. Undefined for none
 * (`switchyard`, `switchyard --help`).
 */
export function commandNameIn(argv: readonly string[]): string | undefined {
  const args = argv.slice(2);
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--home') i++;
    else if (arg === '--') return args[i + 1];
    else if (arg.startsWith('-')) continue;
    else if (arg === 'help') return args.slice(i + 1).find((next) => !next.startsWith('-'));
    else return arg;
  }
  return undefined;
}

/**
 * This installation's version, from its package.json: three levels above
 * dist/src/cli/, where the CLI runs from; two above src/cli/, where tests
 * import this module from source.
 */
function packageVersion(): string {
  for (const candidate of ['../../../package.json', '../../package.json']) {
    try {
      const manifest = JSON.parse(readFileSync(new URL(candidate, import.meta.url), 'utf8')) as { name?: unknown; version?: unknown };
      if (manifest.name === 'switchyard' && typeof manifest.version === 'string') return manifest.version;
    } catch {
      // Not there from this copy of the module: the next candidate.
    }
  }
  return 'unknown';
}

/** The program for `argv`: the command it names loaded, the others as stubs (see the module comment). */
export async function buildProgram(argv: readonly string[] = process.argv): Promise<Command> {
  const program = new Command('switchyard')
    .description('A mailing-list server in the manner of GNU Mailman 3.')
    .version(packageVersion(), '-V, --version', 'print the version and exit')
    .option('--home <dir>', 'home directory (default: $SWITCHYARD_HOME, else ./var if it exists, else /var/lib/switchyard if it exists; only start creates ./var)');
  const wanted = commandNameIn(argv);
  const stubs = new Map<Command, CommandEntry>();
  for (const entry of COMMANDS) {
    if (entry.name === wanted) {
      program.addCommand(await entry.load());
    } else {
      const stub = new Command(entry.name).description(entry.description);
      stubs.set(stub, entry);
      program.addCommand(stub);
    }
  }
  // A stub has no options or arguments of its own: list it as its module would be.
  const help = new Help();
  program.configureHelp({
    subcommandTerm: (command) => {
      const entry = stubs.get(command);
      return entry === undefined ? help.subcommandTerm(command) : `${entry.name}${entry.usage ? ` ${entry.usage}` : ''}`;
    },
  });
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
    .configureOutput({ outputError: (text, write) => write(`switchyard: SY_USAGE: ${text.replace(/^error: /, '')}`) });
  for (const sub of command.commands) configureTree(sub);
}

/** Parse and run `argv`; resolves with the exit code instead of exiting, so pending output drains. */
export async function run(argv: readonly string[] = process.argv): Promise<number> {
  const program = await buildProgram(argv);
  try {
    await program.parseAsync([...argv]);
    // An action may have set its own code (`start --foreground` returns the master's).
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT_OK;
  } catch (error) {
    return report(error, () => resolveHome(program.opts<{ home?: string }>().home), wantsJson(argv));
  }
}

/** `--json` among the options (before a `--`): the error, too, is printed as JSON. */
function wantsJson(argv: readonly string[]): boolean {
  const options = argv.slice(2);
  const end = options.indexOf('--');
  return (end < 0 ? options : options.slice(0, end)).includes('--json');
}

/** Queue errors that mean "not there": the message names the home, the likeliest mistake being the wrong one. */
const QUEUE_NOT_FOUND = new Set(['SY_QUEUE_UNKNOWN', 'SY_QUEUE_ENTRY_MISSING', 'SY_QUEUE_ENTRY_UNKNOWN']);

interface Failure {
  code: string;
  message: string;
  temporary: boolean;
  exitCode: number;
}

/** What to tell the operator about `error`, and the exit code. */
function describe(error: unknown, home: () => string): Failure {
  // A raw EACCES from anywhere in the home: say whose home it is and what to do.
  const denied = isSwitchyardError(error) ? undefined : homeCliError(error, home());
  const known = denied ?? error;
  if (isSwitchyardError(known)) {
    // A CliError has said what it means to; a queue error from the library has not.
    const where = QUEUE_NOT_FOUND.has(known.code) && !(known instanceof CliError) ? `; looked in the home ${home()}` : '';
    return { code: known.code, message: `${known.message}${where}`, temporary: known.temporary, exitCode: known.exitCode };
  }
  const err = error instanceof Error ? error : new Error(String(error));
  return { code: INTERNAL_CODE, message: process.env.SWITCHYARD_DEBUG ? (err.stack ?? err.message) : err.message, temporary: false, exitCode: EXIT_ERROR };
}

function report(error: unknown, home: () => string, json: boolean): number {
  if (error instanceof CommanderError) {
    // Commander has already printed its own message (or the help text) on stderr.
    if (error.exitCode === 0) return EXIT_OK;
    if (json) printJsonError({ code: 'SY_USAGE', message: error.message.replace(/^error: /, ''), temporary: false });
    return EXIT_USAGE;
  }
  const failure = describe(error, home);
  if (json && error instanceof CliError && error.reportedAsJson) return failure.exitCode;
  if (json) printJsonError(failure);
  else process.stderr.write(`switchyard: ${failure.code}: ${failure.message}\n`);
  return failure.exitCode;
}

function printJsonError({ code, message, temporary }: Omit<Failure, 'exitCode'>): void {
  process.stdout.write(`${JSON.stringify({ error: { code, message, temporary } })}\n`);
}
