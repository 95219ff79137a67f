/**
 * `switchyard inject`: one message from stdin onto a queue. What an MTA's
 * pipe runs for every message (Postfix pipe(8), Exim's pipe transport), and
 * what an operator uses to re-inject one:
 *
 *     switchyard inject --home DIR --recipient ADDR [--sender ADDR]   # routed (src/ingress/routing.ts)
 *     switchyard inject --home DIR --list LIST [--queue NAME]         # to the list's `in` (or NAME)
 *     switchyard inject --home DIR --from-env                         # Exim: $RECIPIENT, $SENDER
 *
 * `--from-env` exists because Exim 4.94 and later refuse a pipe command whose
 * arguments hold tainted data (the recipient's local part, the sender): the
 * pipe transport passes them in the environment instead.
 *
 * Exit codes are sysexits, because the MTA acts on them (Postfix 3.7 pipe(8)
 * bounces the message for 1, 2, 126, 127 and most others; only 75, 71 and
 * death by a signal defer it):
 *   0   queued, and only once the queue file is durable;
 *   65  EX_DATAERR: not a message (empty input);
 *   67  EX_NOUSER: no such list or list address;
 *   69  EX_UNAVAILABLE: larger than ingress.maxMessageSize with onOversize = "reject";
 *   75  EX_TEMPFAIL: everything else, ours to fix: a full disk, an unwritable
 *       spool, a busy or damaged store, a bad configuration or command line,
 *       a home that does not exist or that this user may not enter, a bug;
 *       and inject run as root on a home that belongs to another user
 *       (see refuseForeignRoot: not 77 EX_NOPERM, which MTAs bounce).
 *       Not 78 EX_CONFIG for the configuration cases, though that is what
 *       they are: Postfix maps 78 to 5.3.5 and bounces the message (Exim
 *       likewise fails it), while the fix (create the home, correct --home,
 *       run as the right user) is ours and the sender did nothing wrong.
 * Every error is caught (an uncaught one would exit 1 and bounce the mail).
 *
 * Startup matters (one process per message): this module imports only node
 * built-ins; configuration, store and queues are imported when needed, and
 * commander, pino, zod and the runners never (the configuration comes from
 * its cache, src/config/config-cache.ts, once validated; routing reads no
 * list settings). test/cli/startup-imports.test.ts checks what it loads. src/cli/main.ts dispatches here
 * before loading anything else, and loads it from its bundle (one file:
 * src/build/bundle-cli.ts, src/cli/bundles.ts) when the build made one.
 *
 * Input: LF or CRLF, stored byte for byte except a leading `From sender
 * date` line (pipe flag F), which is dropped; its sender is the envelope
 * sender unless `--sender` is given. Files: one queue entry (see
 * src/ingress/ingress-writer.ts for its crash windows); nothing else.
 */
import { read, writeSync } from 'node:fs';
import { parseArgs } from 'node:util';
// Small and import-free: the one base error, and the code of any error.
import { errorCode, SwitchyardError } from '../errors.js';
import type { Readable } from 'node:stream';

export const EX_OK = 0;
export const EX_DATAERR = 65;
export const EX_NOUSER = 67;
export const EX_UNAVAILABLE = 69;
export const EX_TEMPFAIL = 75;

const USAGE = `Usage: switchyard [--home DIR] inject (--recipient ADDR | --list LIST [--queue NAME] | --from-env) [--sender ADDR]

Read one RFC 5322 message from stdin and queue it durably.

Options:
  --home <dir>         home directory (default: $SWITCHYARD_HOME, else ./var or /var/lib/switchyard,
                       whichever exists); it must exist: a missing one is exit 75
  --recipient <addr>   envelope recipient, as an MTA pipe passes it (Postfix: \${original_recipient});
                       routed to the list's in, command, bounces or virgin queue
  --list <list>        an operator re-injecting a post to this list
  --queue <name>       with --list: this queue instead of in
  --sender <addr>      envelope sender ('' or <> for the null sender); default: the
                       leading "From sender date" line (pipe flag F), else ''
  --from-env           recipient and sender from $RECIPIENT and $SENDER, as Exim's pipe
                       transport sets them (Exim refuses them on the command line)
  -h, --help           this text

Run it as the user that owns the home (the runners' user): as root on another
user's home it refuses (exit 75), since root's queue files would be unreadable.

Exit codes (sysexits): 0 queued, 65 empty input, 67 unknown list or address,
69 too large (ingress.onOversize = "reject"), 75 temporary failure (the MTA retries).`;

/** Where inject reads and writes: streams, or file descriptors (the process's own, by default: see PROCESS_IO). */
export interface InjectIo {
  stdin: Readable | number;
  stdout: NodeJS.WritableStream | number;
  stderr: NodeJS.WritableStream;
}

/** A failure with its exit code already decided (75: temporary, the MTA keeps the mail); a bad command line unless `code` says otherwise. */
class InjectExit extends SwitchyardError {
  constructor(exitCode: number, message: string, code = 'SY_USAGE') {
    super(code, message, { exitCode, temporary: exitCode === EX_TEMPFAIL });
  }
}

interface InjectArgs {
  home?: string;
  recipient?: string;
  list?: string;
  queue?: string;
  sender?: string;
  help: boolean;
}

function parseInjectArgs(argv: readonly string[], env: NodeJS.ProcessEnv): InjectArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv.slice(2).filter((arg, index, all) => !(arg === 'inject' && all.indexOf('inject') === index)),
      options: {
        home: { type: 'string' },
        recipient: { type: 'string' },
        list: { type: 'string' },
        queue: { type: 'string' },
        sender: { type: 'string' },
        'from-env': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (error) {
    throw new InjectExit(EX_TEMPFAIL, `${(error as Error).message}\n(a bad command line is the MTA configuration's fault: exit 75 keeps the mail)`);
  }
  const values = parsed.values;
  if (values.help) return { help: true };
  if (values['from-env']) {
    if (values.recipient !== undefined || values.list !== undefined || values.sender !== undefined) throw new InjectExit(EX_TEMPFAIL, '--from-env takes recipient and sender from the environment: no --recipient, --list or --sender with it (exit 75: the MTA keeps the mail)');
    const recipient = env.RECIPIENT;
    if (recipient === undefined || recipient === '') throw new InjectExit(EX_TEMPFAIL, '--from-env: $RECIPIENT is not set (Exim\'s pipe transport sets it; exit 75: the MTA keeps the mail)');
    values.recipient = recipient;
    values.sender = env.SENDER ?? '';
  }
  if ((values.recipient === undefined) === (values.list === undefined)) throw new InjectExit(EX_TEMPFAIL, 'give exactly one of --recipient and --list (exit 75: the MTA keeps the mail)');
  if (values.queue !== undefined && values.list === undefined) throw new InjectExit(EX_TEMPFAIL, '--queue goes with --list only (exit 75: the MTA keeps the mail)');
  return {
    help: false,
    ...(values.home === undefined ? {} : { home: values.home }),
    ...(values.recipient === undefined ? {} : { recipient: values.recipient }),
    ...(values.list === undefined ? {} : { list: values.list }),
    ...(values.queue === undefined ? {} : { queue: values.queue }),
    ...(values.sender === undefined ? {} : { sender: values.sender }),
  };
}

/**
 * The process's stdin and stdout as file descriptors 0 and 1, read and
 * written with fs: process.stdin and process.stdout would load net and the
 * pipe machinery, a few ms of every message. stderr stays the stream (only
 * failures write to it).
 */
const PROCESS_IO: InjectIo = { stdin: 0, stdout: 1, get stderr() { return process.stderr; } };

/** The chunks read from descriptor `fd` until end of file. */
async function* descriptorChunks(fd: number): AsyncGenerator<Buffer> {
  for (;;) {
    const buffer = Buffer.allocUnsafe(64 * 1024);
    let bytes: number;
    try {
      bytes = await new Promise<number>((resolve, reject) => read(fd, buffer, 0, buffer.length, null, (error, count) => (error ? reject(error) : resolve(count))));
    } catch (error) {
      // A non-blocking descriptor (the parent's choice) has nothing yet: the stream API polls it for the rest.
      if ((error as NodeJS.ErrnoException).code === 'EAGAIN' && fd === 0) {
        for await (const chunk of process.stdin) yield chunk as Buffer;
        return;
      }
      throw error;
    }
    if (bytes === 0) return;
    yield buffer.subarray(0, bytes);
  }
}

/**
 * All of stdin, or undefined once it exceeds `limit` bytes. The rest is read
 * and discarded anyway: a writer (the MTA) that gets EPIPE might take that,
 * not our exit code, as the outcome.
 */
export async function readInput(stdin: Readable | number, limit: number): Promise<{ data: Buffer | undefined; bytes: number }> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of typeof stdin === 'number' ? descriptorChunks(stdin) : stdin) {
    const buffer = chunk as Buffer;
    bytes += buffer.length;
    if (bytes <= limit) chunks.push(buffer);
    else chunks.length = 0;
  }
  return { data: bytes <= limit ? Buffer.concat(chunks, bytes) : undefined, bytes };
}

/** Write `text` to a stream or a descriptor. Success was decided before anything is written: a closed stdout changes nothing. */
function writeOut(out: NodeJS.WritableStream | number, text: string): void {
  if (typeof out !== 'number') {
    out.write(text);
    return;
  }
  const data = Buffer.from(text);
  let offset = 0;
  try {
    while (offset < data.length) offset += writeSync(out, data, offset);
  } catch (error) {
    // Non-blocking and full: let the stream queue the rest. EPIPE and the like: nobody reads it.
    if ((error as NodeJS.ErrnoException).code === 'EAGAIN' && out === 1) process.stdout.on('error', () => undefined).write(data.subarray(offset));
  }
}

/** The login name of `uid` from /etc/passwd, if it has one there. */
async function userName(uid: number): Promise<string | undefined> {
  const { readFile } = await import('node:fs/promises');
  try {
    for (const line of (await readFile('/etc/passwd', 'utf8')).split('\n')) {
      const fields = line.split(':');
      if (fields.length >= 3 && fields[2] === String(uid)) return fields[0];
    }
  } catch {
    // No readable passwd file: the uid will have to do.
  }
  return undefined;
}

/**
 * Refuse to write as root into a home that belongs to another user: root's
 * queue files and shard directories (mode 0660/0770 root:root) are unreadable
 * to the runners, which run as the home's owner, so the post would wait
 * unseen. Exit 75, not 77 EX_NOPERM: Postfix's pipe(8) and local(8) and
 * Exim bounce a message on 77, though the fault is our setup and not the
 * sender's; on 75 the MTA keeps it queued and delivers it once the pipe runs
 * as the right user.
 */
async function refuseForeignRoot(home: string): Promise<void> {
  if (process.getuid?.() !== 0) return;
  const { stat } = await import('node:fs/promises');
  const owner = (await stat(home)).uid;
  if (owner === 0) return;
  const name = await userName(owner);
  const who = name === undefined ? `uid ${owner}` : `${name} (uid ${owner})`;
  const as = name ?? String(owner);
  throw new InjectExit(
    EX_TEMPFAIL,
    `refusing to run as root: the home ${home} belongs to ${who}, and queue files written by root would be unreadable to its runners. ` +
      `Run inject as ${as} (Postfix: user=${as} on the pipe in master.cf, or an alias file owned by ${as}; Exim: user = ${as} on the pipe transport). ` +
      'Exit 75: the MTA keeps the mail and retries',
    'SY_HOME_ACCESS',
  );
}

function normaliseSender(sender: string): string {
  const trimmed = sender.trim();
  return trimmed === '<>' || trimmed === 'MAILER-DAEMON' ? '' : trimmed.replace(/^<(.*)>$/, '$1');
}

async function inject(args: InjectArgs, io: InjectIo, home: string): Promise<number> {
  const [{ requireHome, homePaths }, { loadConfigCached }] = await Promise.all([import('../home.js'), import('../config/config-cache.js')]);
  // Never created here: the MTA's working directory is no place for a spool (see the exit codes above).
  requireHome(home);
  const paths = homePaths(home);
  // Cached (src/config/config-cache.ts): validating the file would load zod, half of inject's start-up.
  const { config } = await loadConfigCached({ home, file: paths.config });
  // The pipe runs with umask 077; the runners (the same user, and the group) must read what we write.
  process.umask(config.queues.umask);

  const input = await readInput(io.stdin, config.ingress.maxMessageSize);
  // After reading stdin: a refusal must reach the MTA as an exit code, not as EPIPE.
  await refuseForeignRoot(home);
  const [{ stripMboxFrom, isBlank }, { MessageTooLargeError, EmptyMessageError }] = await Promise.all([import('../ingress/mbox-from.js'), import('../ingress/errors.js')]);
  if (input.data === undefined) throw new MessageTooLargeError(config.ingress.maxMessageSize, config.ingress.onOversize === 'reject');
  const { message, sender: fromLineSender } = stripMboxFrom(input.data);
  if (isBlank(message)) throw new EmptyMessageError();

  const [{ openStore, storeOptions }, { routeList, routeRecipient }, { IngressWriter }, { assertQueueName }] = await Promise.all([
    // open.js, not index.js: index.js loads the list settings schema, which routing does not need.
    import('../store/open.js'),
    import('../ingress/routing.js'),
    import('../ingress/ingress-writer.js'),
    import('../../queues/switchboard.js'),
  ]);
  if (args.queue !== undefined) assertQueueName(args.queue);
  const store = openStore(home, storeOptions(config));
  try {
    const route = args.recipient !== undefined ? await routeRecipient(store, args.recipient) : await routeList(store, args.list!);
    const writer = new IngressWriter({ spoolRoot: paths.queues, durability: config.queues.durability });
    const queue = args.queue ?? route.queue;
    const id = await writer.accept(route, message, {
      sender: normaliseSender(args.sender ?? fromLineSender ?? ''),
      recipient: args.recipient ?? route.listId,
      via: 'inject',
    }, queue);
    writeOut(io.stdout, `queued ${queue}/${id}\n`);
    return EX_OK;
  } finally {
    await store.close();
  }
}

/** Decide the exit code of any failure (see the module comment); `sy` is the code printed with the message. */
async function exitCodeOf(error: unknown, home: string): Promise<{ code: number; message: string; sy: string }> {
  if (error instanceof InjectExit) return { code: error.exitCode, message: error.message, sy: error.code };
  const { accessError } = await import('../home.js');
  const denied = accessError(error, home);
  if (denied !== undefined) return { code: EX_TEMPFAIL, message: `temporary failure, the MTA will retry: ${denied.message}`, sy: denied.code };
  const { classifyIngressError } = await import('../ingress/errors.js');
  const failure = classifyIngressError(error);
  const sy = errorCode(error);
  switch (failure.kind) {
    case 'unknown-recipient':
      return { code: EX_NOUSER, message: `unknown address: ${failure.message} (home ${home})`, sy };
    case 'empty':
      return { code: EX_DATAERR, message: failure.message, sy };
    case 'too-large':
      return { code: EX_UNAVAILABLE, message: failure.message, sy };
    case 'temporary':
      return { code: EX_TEMPFAIL, message: `temporary failure, the MTA will retry: ${failure.message}`, sy };
  }
}

/** Run `switchyard inject` (argv as process.argv); resolves with the exit code, never rejects. */
export async function runInject(
  argv: readonly string[],
  io: InjectIo = PROCESS_IO,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  let home = '(unknown)';
  try {
    const args = parseInjectArgs(argv, env);
    if (args.help) {
      writeOut(io.stdout, `${USAGE}\n`);
      return EX_OK;
    }
    home = (await import('../home.js')).resolveHome(args.home, env);
    return await inject(args, io, home);
  } catch (error) {
    let outcome: { code: number; message: string; sy: string };
    try {
      outcome = await exitCodeOf(error, home);
    } catch {
      outcome = { code: EX_TEMPFAIL, message: String(error), sy: errorCode(error) };
    }
    io.stderr.write(`switchyard inject: ${outcome.sy}: ${outcome.message}\n`);
    return outcome.code;
  }
}

/**
 * The process-level guard for the pipe: whatever escapes (an exception in a
 * stream callback, a rejected promise nobody awaited) ends the process with
 * 75, never Node's 1, which Postfix would turn into a bounce.
 */
export function guardProcess(): void {
  const die = (error: unknown): void => {
    try {
      process.stderr.write(`switchyard inject: ${errorCode(error)}: temporary failure, the MTA will retry: ${error instanceof Error ? error.message : String(error)}\n`);
    } finally {
      process.exit(EX_TEMPFAIL);
    }
  };
  process.on('uncaughtException', die);
  process.on('unhandledRejection', die);
}
