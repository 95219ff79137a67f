/**
 * `switchyard status` for people: the master, a table of queue runners and
 * one of services, their notes, the queue depths, a line of work counters
 * (recipients delivered, bounces, LMTP sessions, ...), and what needs an operator
 * first and last (so neither `status | head` nor `status | tail` misses it).
 * Scripts read `--json`, which has every field whole.
 */
import { RECOVERED_SHOWN_MS, type LastErrorInfo, type RunnerStatus, type StatusReport } from '../master/protocol.js';
import { formatTable, type Align } from './table.js';
import { countersLine } from '../work-counters.js';

export interface StatusViewOptions {
  /** Terminal width: longer lines (a long LAST ERROR) are cut to it with `…`; undefined: not cut. */
  width?: number;
  /** Dim the LAST ERROR of a runner that has recovered from it (ANSI; on a terminal only). */
  dim?: boolean;
}

/** Without a terminal width, a cell still stays readable: a reason can be a whole stack. */
const MAX_CELL = 300;
const DIM = '\u001b[2m';
const UNDIM = '\u001b[22m';

export function renderStatus(report: StatusReport, options: StatusViewOptions = {}): string {
  const { master } = report;
  // Ages count from when the master made the report (older masters did not say: now).
  const now = report.at === undefined ? Date.now() : Date.parse(report.at);
  const unconsumed = report.unconsumed ?? [];
  const queueProblems = new Set(unconsumed.filter((q) => q.waiting > 0).map((q) => q.queue));
  const problems = report.problems ?? [];
  // A queue nothing consumes is said on its own line; a refused restart (invalid switchyard.toml) is a problem, but no runner failed.
  const isQueueProblem = (problem: string): boolean => problem.startsWith('no runner for queue ');
  const isConfigProblem = (problem: string): boolean => problem === report.config?.problem;
  const runnerProblems = problems.filter((problem) => !isQueueProblem(problem) && !isConfigProblem(problem));
  const configProblems = problems.filter(isConfigProblem);
  const queueLines = problems.filter(isQueueProblem);
  const block = (title: string, lines: string[]): string => (lines.length === 0 ? '' : `${title}:\n${lines.map((problem) => `  ${oneLine(problem, 300)}\n`).join('')}`);
  const alarm =
    block(`${runnerProblems.length} runner${runnerProblems.length === 1 ? '' : 's'} FAILED`, runnerProblems) +
    block(`${configProblems.length} problem${configProblems.length === 1 ? '' : 's'}`, configProblems) +
    queueLines.map((problem) => `${oneLine(problem, 300)}\n`).join('');
  const head = `master: pid ${master.pid} on ${master.host}, up ${formatAge(master.uptime)} (since ${master.startedAt}), switchyard ${master.version}\nhome:   ${master.home}\n\n`;
  // Reports of masters before services existed have no `kind`: every entry was a runner then.
  const services = report.runners.filter((r) => r.kind === 'service');
  const queueRunners = report.runners.filter((r) => r.kind !== 'service');
  const runners = statusTable('RUNNER', queueRunners, true, now, options);
  const serviceTable = services.length === 0 ? '' : `\n${statusTable('SERVICE', services, false, now, options)}`;
  // A runner's own note on its state (a smarthost backing off) is too long for a column: a line each under the table.
  const label = (r: RunnerStatus): string => (r.kind === 'service' ? r.name : `${r.name} ${r.slice}/${r.numSlices}`);
  const details = report.runners
    .flatMap((r) => [
      ...(r.detail !== null && r.detail !== undefined ? [`${label(r)}: ${oneLine(r.detail, 200)}\n`] : []),
      ...(smarthostLine(r.info) === undefined ? [] : [`${label(r)}: ${smarthostLine(r.info)}\n`]),
    ])
    .join('');
  const noRunner = new Set(unconsumed.map((q) => q.queue));
  const queueRows = Object.entries(report.queues)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([queue, waiting]) => [queue, String(waiting), noRunner.has(queue) ? (queueProblems.has(queue) ? 'NO RUNNER: nothing takes these' : 'no runner') : '']);
  // The work counters (src/work-counters.ts) in one line; masters before them did not report any.
  const counted = report.counters === undefined ? '' : `\ncounted since the master started: ${countersLine(report.counters)}\n`;
  const body = `${head}${runners}${serviceTable}${details === '' ? '' : `\n${details}`}\n${formatTable(['QUEUE', 'WAITING', ''], queueRows, ['left', 'right', 'left'])}${counted}`;
  return alarm === '' ? body : `${alarm}\n${body}\n${alarm}`;
}

/**
 * The outgoing runner's `info.smarthost` (checked at start, then kept by
 * deliveries) as one line: "smarthost 127.0.0.1:25 answers (2026-...)".
 */
function smarthostLine(info: Record<string, unknown> | null | undefined): string | undefined {
  const smarthost = info?.smarthost as { destination?: unknown; answers?: unknown; reason?: unknown; at?: unknown } | undefined;
  if (typeof smarthost !== 'object' || smarthost === null || typeof smarthost.destination !== 'string') return undefined;
  const state = smarthost.answers === true ? 'answers' : `does not answer: ${String(smarthost.reason ?? 'unknown reason')}`;
  return `smarthost ${smarthost.destination} ${state}${typeof smarthost.at === 'string' ? ` (as of ${smarthost.at})` : ''}`;
}

/**
 * One table of supervised processes: queue runners (with their slice, PROCESSED)
 * or services (no slice; what they did is HANDLED). LAST ERROR is the last
 * column, so cutting a line to the terminal width only ever shortens it.
 */
function statusTable(title: 'RUNNER' | 'SERVICE', rows: readonly RunnerStatus[], sliced: boolean, now: number, options: StatusViewOptions): string {
  const columns: Array<{ header: string; align: Align; cell: (r: RunnerStatus) => string }> = [
    { header: title, align: 'left', cell: (r) => r.name },
    ...(sliced ? [{ header: 'SLICE', align: 'left' as const, cell: (r: RunnerStatus) => `${r.slice}/${r.numSlices}` }] : []),
    { header: 'PID', align: 'right', cell: (r) => (r.pid === null ? '-' : String(r.pid)) },
    { header: 'STATE', align: 'left', cell: (r) => r.state },
    { header: 'UPTIME', align: 'right', cell: (r) => (r.uptime === null ? '-' : formatAge(r.uptime)) },
    { header: 'RESTARTS', align: 'right', cell: (r) => String(r.restarts) },
    { header: sliced ? 'PROCESSED' : 'HANDLED', align: 'right', cell: (r) => String(r.processed) },
    { header: 'FAILED', align: 'right', cell: (r) => String(r.failed) },
    { header: 'LAST ERROR', align: 'left', cell: (r) => lastErrorCell(r, now) },
  ];
  const table = formatTable(
    columns.map((c) => c.header),
    rows.map((r) => columns.map((c) => c.cell(r))),
    columns.map((c) => c.align),
  );
  const lines = table.slice(0, -1).split('\n');
  const errorColumn = lines[0]!.indexOf('LAST ERROR');
  return (
    lines
      .map((line, index) => {
        const cut = options.width !== undefined && options.width > 0 && line.length > options.width ? `${line.slice(0, options.width - 1)}…` : line;
        const row = index === 0 ? undefined : rows[index - 1];
        const recovered = row !== undefined && row.lastErrorInfo?.recoveredAt != null;
        return options.dim === true && recovered && cut.length > errorColumn ? `${cut.slice(0, errorColumn)}${DIM}${cut.slice(errorColumn)}${UNDIM}` : cut;
      })
      .join('\n') + '\n'
  );
}

/**
 * The reason first (it is what a narrow terminal must keep), then how long
 * ago and the entry. Recovered: "(recovered 3m ago)" in front, and nothing
 * once that is RECOVERED_SHOWN_MS old.
 */
function lastErrorCell(r: RunnerStatus, now: number): string {
  const info: LastErrorInfo | null | undefined = r.lastErrorInfo;
  // Reports of older masters have only the one-line form.
  if (info === undefined || info === null) return oneLine(r.lastError ?? '', MAX_CELL);
  const ago = (iso: string): string => `${formatAge(Math.max(0, (now - Date.parse(iso)) / 1000))} ago`;
  const error = `${oneLine(info.reason, MAX_CELL)} (${ago(info.at)}${info.entry === null ? '' : `, entry ${info.entry}`})`;
  if (info.recoveredAt === null) return error;
  if (now - Date.parse(info.recoveredAt) > RECOVERED_SHOWN_MS) return '';
  return `(recovered ${ago(info.recoveredAt)}) ${error}`;
}

/** `45s`, `12m`, `3h5m`, `2d4h`: the two largest units are enough to read an uptime at a glance. */
export function formatAge(seconds: number): string {
  const sizes: [string, number][] = [['d', 86_400], ['h', 3_600], ['m', 60], ['s', 1]];
  let rest = Math.max(0, Math.floor(seconds));
  const amounts = sizes.map(([unit, size]) => {
    const amount = Math.floor(rest / size);
    rest -= amount * size;
    return { unit, amount };
  });
  const first = amounts.findIndex((a) => a.amount > 0);
  if (first < 0) return '0s';
  return amounts
    .slice(first, first + 2)
    .filter((a) => a.amount > 0)
    .map((a) => `${a.amount}${a.unit}`)
    .join('');
}

function oneLine(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`;
}
