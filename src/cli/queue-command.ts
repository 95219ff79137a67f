/**
 * `switchyard queue ...`: look into the spool and repair it by hand, in the
 * manner of `mailman qfile`/`unshunt` and Postfix's `postqueue`/`postsuper`.
 * Tables for people, `--json` (one document on stdout) for scripts.
 *
 * Files touched, all through Spool (queues/spool.ts):
 * - `move`: one rename of a waiting `.pck`, or rewrite-then-rename into or out
 *   of `bad`. Killed in between: the entry is still in its old queue, perhaps
 *   with its new control data; run the move again.
 * - `requeue`: rewrite-then-rename from `bad`/`shunt`/`retry` to the original
 *   queue (a `retry` entry claimed first, as its runner would). Killed during
 *   `--all`/`--queue` (Spool.requeueAll, which the HTTP API's requeue route
 *   calls too): what was done is in its queue, the rest is still where it
 *   was; run it again.
 * - `flush`: each `retry` entry claimed, then rewritten under a name due now
 *   (Spool.flush). Killed in between: the entry is still in `retry`; run it again.
 * - An unreadable entry (a directory, a FIFO, a link, root's file) is never
 *   rewritten: `move` to `bad` sets it aside (record, then the file renamed
 *   beside it); `move` or `requeue` out of `bad` renames the file back, then
 *   removes the record. Killed in between: run the command again.
 * - `purge`: one unlink per entry. Killed: some old entries remain; run it again.
 * None of them touches a `.bak`: it belongs to the runner processing it.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import {
  BAD_QUEUE,
  decodeEntry,
  queueShape,
  SHAPE_BUCKETS_MINUTES,
  FileFormatError,
  readQueueFile,
  Spool,
  UnreadableFileError,
  type DecodedEntry,
  type EntryInfo,
  type EntryState,
  type EntryControl,
  type JsonObject,
  type RequeueMove,
  type RequeueResult,
  type StateCounts,
} from '../../queues/index.js';
import { SHUNT_QUEUE, SPOOL_OPTIONS } from '../../runners/queue-ids.js';
import { homePaths } from '../home.js';
import { holderState, readMasterLock } from '../master/lock.js';
import { existingHome } from './home-option.js';
import { parseDuration } from '../config/duration.js';
import { CliError, EXIT_ERROR } from './exit-codes.js';
import { createProgress } from './progress.js';
import { formatTable } from './table.js';

const STATE_NAMES: Record<EntryState, string> = { pck: 'waiting', bak: 'in flight', psv: 'preserved' };
/** Queues whose entries were put aside for a reason worth a column. */
const REASON_QUEUES = new Set([BAD_QUEUE, SHUNT_QUEUE]);

export function queueCommand(): Command {
  return new Command('queue')
    .description('inspect and repair the queues (waiting .pck, in-flight .bak, preserved .psv entries)')
    .addCommand(countCommand())
    .addCommand(shapeCommand())
    .addCommand(listCommand())
    .addCommand(showCommand())
    .addCommand(moveCommand())
    .addCommand(requeueCommand())
    .addCommand(flushCommand())
    .addCommand(purgeCommand())
    .addHelpText('after', `
Examples:
  switchyard queue count
  switchyard queue shape
  switchyard queue list bad
  switchyard queue show --raw <id> > message.eml
  switchyard queue requeue --all
  switchyard queue flush
  switchyard queue purge shunt --older-than 30d

Exit codes: 0 ok, 1 error (the message says why), 2 bad arguments.`);
}

function countCommand(): Command {
  return new Command('count')
    .description('count the entries of every queue by state')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      const spool = spoolOf(command);
      // Every queue at once: each count is 256 readdirs on a spool whose runners created every shard directory.
      const queues: ({ queue: string } & StateCounts)[] = await Promise.all((await spool.queueNames()).map(async (queue) => ({ queue, ...(await spool.count(queue)) })));
      if (options.json) return printJson({ queues });
      const total = { pck: 0, bak: 0, psv: 0 };
      for (const q of queues) for (const state of ['pck', 'bak', 'psv'] as const) total[state] += q[state];
      const rows = [...queues, { queue: 'total', ...total }].map((q) => [q.queue, String(q.pck), String(q.bak), String(q.psv)]);
      process.stdout.write(formatTable(['QUEUE', 'WAITING', 'IN-FLIGHT', 'PRESERVED'], rows, ['left', 'right', 'right', 'right']));
    });
}

function shapeCommand(): Command {
  return new Command('shape')
    .description('waiting entries of every queue by age, as Postfix\'s qshape: columns are age buckets in minutes (in retry: since due)')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      const shapes = await queueShape(spoolOf(command));
      const labels = [...SHAPE_BUCKETS_MINUTES.map(String), `${SHAPE_BUCKETS_MINUTES.at(-1)!}+`];
      if (options.json) return printJson({ bucketsMinutes: SHAPE_BUCKETS_MINUTES, queues: shapes });
      const rows = shapes.map((q) => [q.queue, String(q.total), q.oldestAgeSeconds === null ? '-' : `${q.oldestAgeSeconds}s`, ...q.buckets.map(String)]);
      process.stdout.write(formatTable(['QUEUE', 'TOTAL', 'OLDEST', ...labels], rows, ['left', ...new Array<'right'>(labels.length + 2).fill('right')]));
    });
}

function listCommand(): Command {
  return new Command('list')
    .description('list the entries of one queue, oldest first')
    .argument('<queue>', 'queue name (see `queue count`)')
    .option('--slices <n>', 'show each entry\'s slice as if the queue had N slices (a power of two, 1-256)', parseSlices, 1)
    .option('--json', 'print JSON')
    .action(async (queue: string, options: { slices: number; json?: boolean }, command: Command) => {
      const spool = spoolOf(command);
      await spool.assertKnownQueue(queue);
      const entries = (await spool.entries(queue, options.slices)).map(describeEntry);
      if (options.json) return printJson({ queue, slices: options.slices, entries });
      if (entries.length === 0) return void process.stdout.write(`queue ${queue} is empty\n`);
      const withReason = REASON_QUEUES.has(queue) || entries.some((e) => e.error !== null);
      const header = ['ID', 'TIME', 'SLICE', 'SIZE', 'LIST', 'RESTORES', 'STATE', ...(withReason ? ['REASON'] : [])];
      const rows = entries.map((e) => [
        e.id,
        e.time,
        String(e.slice),
        String(e.size),
        printable(e.listId ?? '-'),
        e.restores === null ? '-' : String(e.restores),
        STATE_NAMES[e.state],
        ...(withReason ? [printable(e.error === null ? (e.reason ?? '') : `unreadable: ${e.error}`)] : []),
      ]);
      process.stdout.write(formatTable(header, rows, ['left', 'left', 'right', 'right', 'left', 'right']));
    });
}

function showCommand(): Command {
  return new Command('show')
    .description('show an entry\'s metadata, control data and message headers')
    .argument('<id>', 'entry id (see `queue list`)')
    .addOption(new Option('--raw', 'write the exact message bytes to stdout (the whole file if it is corrupt)').conflicts('json'))
    .option('--json', 'print JSON')
    .action(async (id: string, options: { raw?: boolean; json?: boolean }, command: Command) => {
      const { info, bytes } = await entryOp(id, readEntry(spoolOf(command), id));
      let decoded: DecodedEntry | undefined;
      let corrupt: string | undefined;
      if (bytes) {
        try {
          decoded = decodeEntry(bytes);
        } catch (error) {
          if (!(error instanceof FileFormatError)) throw error;
          corrupt = error.message;
        }
      }
      if (options.raw) {
        if (info.unreadable) throw new CliError(`entry ${id} in ${info.queue} cannot be read: ${info.error}`, EXIT_ERROR, { code: 'SY_QUEUE_UNREADABLE' });
        if (info.setAsideFile !== undefined) return writeSetAside(id, info.setAsideFile);
        if (decoded) return void process.stdout.write(decoded.message);
        process.stderr.write(`switchyard: entry ${id} is corrupt (${corrupt}); writing the whole file\n`);
        return void process.stdout.write(bytes!);
      }
      const headers = decoded ? decodeText(headerBlock(decoded.message)) : null;
      const facts = {
        id,
        queue: info.queue,
        state: info.state,
        path: info.path,
        time: new Date(info.time).toISOString(),
        size: info.size,
        messageSize: decoded ? decoded.message.length : null,
        corrupt: corrupt ?? null,
        unreadable: info.unreadable ? (info.error ?? null) : null,
        setAsideFile: info.setAsideFile ?? null,
        metadata: decoded?.metadata ?? null,
        control: decoded?.control ?? null,
        headers,
      };
      if (options.json) return printJson(facts);
      process.stdout.write(formatShow(facts, decoded));
    });
}

function moveCommand(): Command {
  return new Command('move')
    .description('move a waiting or preserved entry to another queue')
    .argument('<id>', 'entry id')
    .argument('<queue>', 'target queue')
    .option('--json', 'print JSON')
    .action(async (id: string, queue: string, options: { json?: boolean }, command: Command) => {
      const spool = spoolOf(command);
      await spool.assertKnownQueue(queue);
      const before = await entryOp(id, spool.find(id));
      // A quarantined corrupt file is wrapped as the message of a sound entry:
      // moved to a working queue, a runner would take the garbage for mail.
      if (before.control?.corrupt === true && queue !== BAD_QUEUE) {
        throw new CliError(`entry ${id} is a quarantined corrupt queue file and stays in ${BAD_QUEUE}; inspect it with \`queue show --raw\``, EXIT_ERROR, { code: 'SY_QUEUE_CORRUPT' });
      }
      const moved = await entryOp(id, spool.move(id, queue));
      if (options.json) return printJson(moved);
      process.stdout.write(moved.from === moved.to ? `${id} is already in ${queue}\n` : `moved ${id} from ${moved.from} to ${moved.to}\n`);
    });
}

function requeueCommand(): Command {
  return new Command('requeue')
    .description('send entries from bad, shunt or retry back to the queue they came from, restore count reset (unshunt); from retry at once, not when due')
    .argument('[id]', 'entry id')
    .option('--all', 'every entry of bad and shunt (with --queue: of those queues)')
    .option('--queue <queue>', 'every entry of this queue: bad, shunt or retry (repeat for more than one); implies --all', collect)
    .option('--json', 'print JSON: {"requeued": [ids], "moved": [{id, from, to}], "skipped": [{id, code, reason}]}')
    .addHelpText('after', '\nAn entry that cannot be requeued (corrupt, no original queue recorded) is skipped with its reason and left where it is.')
    .action(async (id: string | undefined, options: { all?: boolean; queue?: string[]; json?: boolean }, command: Command) => {
      const queues = options.queue ?? [];
      const many = options.all === true || queues.length > 0;
      if ((id === undefined) === !many) command.error('give either an entry id or --all/--queue');
      const spool = spoolOf(command);
      let result: RequeueResult;
      if (id !== undefined) {
        const moved = await entryOp(id, spool.requeue(id));
        if (!options.json) return void process.stdout.write(`requeued ${id} from ${moved.from} to ${moved.to}\n`);
        result = { requeued: [id], moved: [moved], skipped: [] };
      } else {
        const progress = createProgress('requeueing');
        try {
          result = await spool.requeueAll({ ...(queues.length === 0 ? {} : { queues }), onProgress: (done, total) => progress.update(done, total) });
        } finally {
          progress.end();
        }
      }
      if (options.json) return printJson(result);
      const lines = [`requeued ${plural(result.requeued.length, 'entry', 'entries')}${destinations(result.moved)}`];
      if (result.skipped.length > 0) lines.push(`skipped ${result.skipped.length}:`, ...result.skipped.map((s) => `  ${s.id}: ${printable(s.reason)}`));
      process.stdout.write(lines.join('\n') + '\n');
    });
}

/** `: 3 to out, 1 to in` (the queues the entries went back to), or nothing when none moved. */
function destinations(moved: readonly RequeueMove[]): string {
  const counts = new Map<string, number>();
  for (const move of moved) counts.set(move.to, (counts.get(move.to) ?? 0) + 1);
  return counts.size === 0 ? '' : `: ${[...counts].map(([queue, n]) => `${n} to ${queue}`).join(', ')}`;
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** `postqueue -f`: what is waiting in retry is due now. */
function flushCommand(): Command {
  return new Command('flush')
    .description('make every entry waiting in retry due now (as Postfix\'s `postqueue -f`): a running master\'s retry runner returns them to their queues at once; without a master they are marked due and go back when it starts')
    .argument('[queue]', 'only entries that failed in this queue (out, in, ...)')
    .option('--json', 'print JSON: {"due": [ids], "skipped": [{id, reason}], "master": pid or null}')
    .addHelpText('after', '\nExit codes: 0 done (also when nothing was waiting), 1 error, 2 bad usage.')
    .action(async (queue: string | undefined, options: { json?: boolean }, command: Command) => {
      const home = existingHome(command);
      const spool = new Spool({ root: homePaths(home).queues, ...SPOOL_OPTIONS });
      if (queue !== undefined) await spool.assertKnownQueue(queue);
      const result = await spool.flush(queue);
      const holder = await readMasterLock(homePaths(home).lock);
      const masterPid = holder !== undefined && holderState(holder) === 'alive' ? holder.pid : null;
      if (options.json) return printJson({ ...result, master: masterPid });
      const what = `${plural(result.due.length, 'entry', 'entries')} in retry${queue === undefined ? '' : ` (failed in ${queue})`}`;
      const lines = [
        result.due.length === 0
          ? `nothing waiting in retry${queue === undefined ? '' : ` that failed in ${queue}`}`
          : masterPid !== null
            ? `${what} due now: the retry runner (master pid ${masterPid}) returns them to their queues at once`
            : `${what} marked due; no master is running: they return to their queues when it starts (\`switchyard start\`)`,
      ];
      if (result.skipped.length > 0) lines.push(`skipped ${result.skipped.length}:`, ...result.skipped.map((s) => `  ${s.id}: ${printable(s.reason)}`));
      process.stdout.write(lines.join('\n') + '\n');
    });
}

function purgeCommand(): Command {
  return new Command('purge')
    .description('delete a queue\'s waiting and preserved entries not modified for a while')
    .argument('<queue>', 'queue name')
    .requiredOption('--older-than <duration>', 'age, e.g. 30s, 15m, 12h, 7d, 2w')
    .option('--json', 'print JSON: the removed ids')
    .action(async (queue: string, options: { olderThan: string; json?: boolean }, command: Command) => {
      let olderThanMs: number;
      try {
        olderThanMs = parseDuration(options.olderThan);
      } catch (error) {
        return command.error((error as Error).message);
      }
      const spool = spoolOf(command);
      await spool.assertKnownQueue(queue);
      const removed = await spool.purge(queue, olderThanMs);
      if (options.json) return printJson({ queue, olderThanMs, removed });
      process.stdout.write(`removed ${plural(removed.length, 'entry', 'entries')} older than ${options.olderThan} from ${queue}\n`);
    });
}

function spoolOf(command: Command): Spool {
  return new Spool({ root: homePaths(existingHome(command)).queues, ...SPOOL_OPTIONS });
}

function parseSlices(text: string): number {
  const n = /^\d{1,3}$/.test(text) ? Number(text) : NaN;
  if (!(n >= 1 && n <= 256 && (n & (n - 1)) === 0)) throw new InvalidArgumentError('expected a power of two from 1 to 256');
  return n;
}

/** A corrupt file's decoder message does not name the entry: say it in the operator's terms. */
async function entryOp<T>(id: string, operation: Promise<T>): Promise<T> {
  try {
    return await operation;
  } catch (error) {
    if (error instanceof FileFormatError) throw CliError.of(error, `entry ${id} has a corrupt queue file (${error.message}); inspect it with \`queue show --raw\``);
    throw error;
  }
}

/**
 * The entry and its bytes; no bytes when it cannot be read at all (info says
 * why). A runner may rename the entry between finding and reading it: look again.
 */
async function readEntry(spool: Spool, id: string): Promise<{ info: EntryInfo; bytes?: Buffer }> {
  for (let attempt = 1; ; attempt++) {
    try {
      const info = await spool.find(id);
      if (info.unreadable) return { info };
      return { info, bytes: await readQueueFile(info.path) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || attempt === 3) throw error;
    }
  }
}

/** `show --raw` of a set-aside record: the message of the file it stands for, if that can be read now. */
async function writeSetAside(id: string, path: string): Promise<void> {
  let bytes: Buffer;
  try {
    bytes = await readQueueFile(path);
  } catch (error) {
    if (error instanceof UnreadableFileError) throw CliError.of(error, `entry ${id} was set aside unreadable and still cannot be read: ${error.reason}`);
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new CliError(`entry ${id}: its set-aside file ${path} is gone`);
    throw error;
  }
  try {
    process.stdout.write(decodeEntry(bytes).message);
  } catch (error) {
    if (!(error instanceof FileFormatError)) throw error;
    process.stderr.write(`switchyard: entry ${id}'s set-aside file is corrupt (${error.message}); writing the whole file\n`);
    process.stdout.write(bytes);
  }
}

/** One entry as `queue list --json` prints it (exported for the tests that check a queue's state in-process). */
export function describeEntry(info: EntryInfo) {
  const listId = info.metadata?.listId;
  return {
    id: info.id,
    time: new Date(info.time).toISOString(),
    slice: info.slice,
    size: info.size,
    state: info.state,
    listId: typeof listId === 'string' ? listId : null,
    restores: info.control?.restores ?? null,
    reason: info.control?.reason ?? null,
    error: info.error ?? null,
    path: info.path,
    metadata: info.metadata ?? null,
    control: info.control ?? null,
  };
}

interface ShowFacts {
  id: string;
  queue: string;
  state: EntryState;
  path: string;
  time: string;
  size: number;
  messageSize: number | null;
  corrupt: string | null;
  unreadable: string | null;
  setAsideFile: string | null;
  metadata: JsonObject | null;
  control: EntryControl | null;
  headers: string | null;
}

function formatShow(facts: ShowFacts, decoded: DecodedEntry | undefined): string {
  const field = (name: string, value: string): string => `${`${name} `.padEnd(10)}${value.replace(/\n/g, `\n${' '.repeat(10)}`)}\n`;
  let text =
    field('id', facts.id) +
    field('queue', facts.queue) +
    field('state', `${STATE_NAMES[facts.state]} (.${facts.state})`) +
    field('time', facts.time) +
    field('size', facts.messageSize === null ? `${facts.size} bytes` : `${facts.size} bytes (message ${facts.messageSize} bytes)`) +
    field('path', printable(facts.path));
  if (facts.unreadable !== null) {
    return text + field('unreadable', `${printable(facts.unreadable)}\n\`queue move ${facts.id} ${BAD_QUEUE}\` sets it aside; its runner does so when it meets it`);
  }
  if (!decoded) return text + field('corrupt', `${printable(facts.corrupt ?? '')}; \`queue show --raw\` writes the whole file`);
  text += field('metadata', JSON.stringify(facts.metadata, null, 2)) + field('control', JSON.stringify(facts.control, null, 2));
  if (decoded.control.corrupt === true) text += field('note', 'the message is the unreadable queue file as found; `queue show --raw` writes it');
  if (facts.setAsideFile !== null) {
    const reason = typeof facts.control?.reason === 'string' ? facts.control.reason : 'unreadable queue file';
    const back = typeof facts.control?.originalQueue === 'string' ? facts.control.originalQueue : 'its queue';
    return text + field('reason', printable(reason)) + field('kept at', printable(facts.setAsideFile)) +
      field('note', `fix the file, then \`queue requeue ${facts.id}\` puts it back in ${back} (or \`queue move ${facts.id} QUEUE\`)`);
  }
  const headers = printable(facts.headers ?? '', true);
  return `${text}\n${headers}${headers.endsWith('\n') ? '' : '\n'}`;
}

/** The message's header block: up to (not including) the first empty line, CRLF or LF. */
export function headerBlock(message: Buffer): Buffer {
  let start = 0;
  while (start < message.length) {
    const newline = message.indexOf(0x0a, start);
    const end = newline < 0 ? message.length : newline;
    const contentEnd = end > start && message[end - 1] === 0x0d ? end - 1 : end;
    if (contentEnd === start) return message.subarray(0, start);
    if (newline < 0) break;
    start = newline + 1;
  }
  return message;
}

/** UTF-8 when the bytes are valid UTF-8, else latin1 (8-bit headers from old mailers). */
function decodeText(bytes: Buffer): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return bytes.toString('latin1');
  }
}

/**
 * Mail and metadata are written by strangers: escape control characters
 * (terminal escape sequences, NUL, bare CR) before they reach a terminal.
 */
function printable(text: string, keepLines = false): string {
  const shown = keepLines ? text.replace(/\r\n/g, '\n') : text;
  const controls = keepLines ? /[\x00-\x08\x0b-\x1f\x7f-\x9f]/g : /[\x00-\x08\x0a-\x1f\x7f-\x9f]/g;
  return shown.replace(controls, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}
