/**
 * The named counters of the work runners and services do (recipients the
 * smarthost accepted, deferred or refused; bounces scored; LMTP sessions
 * and rejects; ...), defined once: each counter's name, its Prometheus
 * metric, help text and, for a counter split by a label, the label and its
 * values. Neutral ground: runners/ counts into a WorkCounters (Runner and
 * Service have one), src/master/runner-process.ts sends the counts with its
 * `state` reports, the supervisor sums them per slot, keeping the totals of
 * processes that exited (a restarted process counts from 0 again), the
 * master reports the totals in `status` (`counters`), `status` prints a
 * line of them and the HTTP service serves them as Prometheus counters. So
 * this module imports nothing and knows nothing of processes.
 *
 * Nothing is persisted: the totals are since the master started (a master
 * restart is a counter reset, which Prometheus' rate() takes in its stride).
 * A process killed outright loses what it counted since its last report
 * (src/master/runner-process.ts sends one at most every 100 ms while counts
 * move, at once when an entry starts or ends, and before a clean exit).
 */

export interface CounterDefinition {
  /** The Prometheus name (a `_total` counter). */
  readonly metric: string;
  /** The Prometheus help text: what one increment is. */
  readonly help: string;
  /** A few words for `switchyard status`. */
  readonly short: string;
  /** A counter split by one label: its name and every value it takes (each series exists from 0). */
  readonly label?: { readonly name: string; readonly values: readonly string[] };
}

export const WORK_COUNTERS = {
  deliveryRecipients: {
    metric: 'switchyard_delivery_recipients_total',
    help: 'recipients of SMTP transactions to the smarthost (outgoing runner), by the reply class: 2xx accepted, 4xx deferred (a 4xx reply, or none: a timeout, a dropped connection), 5xx refused (at RCPT TO, or the whole message at MAIL FROM or DATA); counted at every attempt',
    short: 'recipients',
    label: { name: 'class', values: ['2xx', '4xx', '5xx'] },
  },
  bouncesScored: {
    metric: 'switchyard_bounces_scored_total',
    help: "bounces recorded for a member and scored by the list's rules (bounces runner: DSNs, VERP bounces, and the 5xx replies the outgoing runner saw)",
    short: 'bounces scored',
  },
  bounceDisables: {
    metric: 'switchyard_bounce_disables_total',
    help: 'members whose delivery a bounce disabled (bounces runner: the score reached bounceScoreThreshold)',
    short: 'disabled by bounces',
  },
  bouncesIgnored: {
    metric: 'switchyard_bounces_ignored_total',
    help: 'bounce messages not scored (bounces runner): naming no member, understood by no detector, or not bounces at all (auto-replies, challenges)',
    short: 'bounces not scored',
    label: { name: 'reason', values: ['non-member', 'unrecognised', 'not-bounce'] },
  },
  complaints: {
    metric: 'switchyard_complaints_total',
    help: 'complaints (ARF, SES feedback) received (bounces runner): recorded for a member, or naming no member',
    short: 'complaints',
    label: { name: 'outcome', values: ['recorded', 'unattributed'] },
  },
  lmtpSessions: {
    metric: 'switchyard_lmtp_sessions_total',
    help: 'LMTP connections admitted (lmtp service)',
    short: 'lmtp sessions',
  },
  lmtpRejects: {
    metric: 'switchyard_lmtp_rejects_total',
    help: 'LMTP refusals (lmtp service), per recipient: no such list address (550), message over ingress.maxMessageSize (552 or 452), empty message (554), our own temporary trouble (451, 452); per connection: too many connections (421)',
    short: 'lmtp rejects',
    label: { name: 'reason', values: ['unknown-address', 'oversize', 'empty', 'temporary', 'too-many-connections'] },
  },
  posts: {
    metric: 'switchyard_posts_total',
    help: "posts the incoming runner decided on, by the posting chain's decision (approved posts count as accept)",
    short: 'posts',
    label: { name: 'decision', values: ['accept', 'hold', 'reject', 'discard'] },
  },
  notices: {
    metric: 'switchyard_notices_total',
    help: "messages switchyard writes itself and mail to -owner, by what the virgin runner did: sent on to out, or dropped as stale (a notice about a held post already decided on)",
    short: 'notices',
    label: { name: 'outcome', values: ['sent', 'stale'] },
  },
} as const satisfies Record<string, CounterDefinition>;

export type CounterName = keyof typeof WORK_COUNTERS;

/** The label values of counter N (never for an unlabelled one). */
export type LabelValue<N extends CounterName> = (typeof WORK_COUNTERS)[N] extends { label: { values: readonly (infer V extends string)[] } } ? V : never;

/** What count() takes after the name: the label value for a labelled counter, then the amount (default 1). */
export type CountArgs<N extends CounterName> = (typeof WORK_COUNTERS)[N] extends { label: object } ? [label: LabelValue<N>, amount?: number] : [amount?: number];

/** Every counter's value: a number, or one per label value. */
export type CounterValues = {
  [N in CounterName]: (typeof WORK_COUNTERS)[N] extends { label: object } ? Record<LabelValue<N>, number> : number;
};

/** As a runner sends them: only counters that are not 0, and in a labelled one only its values that are not. */
export type CounterCounts = { [N in CounterName]?: CounterValues[N] extends number ? number : Partial<CounterValues[N]> };

const NAMES = Object.keys(WORK_COUNTERS) as CounterName[];

function definition(name: CounterName): CounterDefinition {
  return WORK_COUNTERS[name];
}

/** Every counter at 0. */
export function zeroCounters(): CounterValues {
  const values: Record<string, number | Record<string, number>> = {};
  for (const name of NAMES) {
    const label = definition(name).label;
    values[name] = label === undefined ? 0 : Object.fromEntries(label.values.map((value) => [value, 0]));
  }
  return values as CounterValues;
}

const isCount = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value) && value >= 0;

/**
 * Add `counts` into `into` (in place) and return it. Only defined counters
 * and label values whose count is a finite number >= 0 are taken: what a
 * process sends over IPC is data, not trusted to have our shape.
 */
export function addCounts(into: CounterValues, counts: unknown): CounterValues {
  if (typeof counts !== 'object' || counts === null) return into;
  const target = into as Record<string, number | Record<string, number>>;
  const source = counts as Record<string, unknown>;
  for (const name of NAMES) {
    const given = source[name];
    const label = definition(name).label;
    if (label === undefined) {
      if (isCount(given)) target[name] = (target[name] as number) + given;
      continue;
    }
    if (typeof given !== 'object' || given === null) continue;
    const series = target[name] as Record<string, number>;
    for (const value of label.values) {
      const count = (given as Record<string, unknown>)[value];
      if (isCount(count)) series[value] = series[value]! + count;
    }
  }
  return into;
}

/** The sum of some counter values (sent counts or full values). */
export function sumCounts(all: Iterable<unknown>): CounterValues {
  const total = zeroCounters();
  for (const counts of all) addCounts(total, counts);
  return total;
}

/** A counter's total over its label values. */
export function counterTotal(values: CounterValues, name: CounterName): number {
  const value = values[name] as number | Record<string, number>;
  return typeof value === 'number' ? value : Object.values(value).reduce((sum, n) => sum + n, 0);
}

/**
 * The counters of one runner or service process, counted from 0 when it
 * starts. `onChange` (given by the owner: the Runner or Service base, which
 * emits `counters`) is called after every count.
 */
export class WorkCounters {
  private readonly values = zeroCounters();

  constructor(private readonly onChange: () => void = () => undefined) {}

  /** Count `amount` (default 1) on counter `name`, under `label` for a labelled counter. */
  count<N extends CounterName>(name: N, ...args: CountArgs<N>): void {
    const label = definition(name).label;
    const target = this.values as Record<string, number | Record<string, number>>;
    if (label === undefined) {
      const amount = (args[0] as number | undefined) ?? 1;
      if (!isCount(amount) || amount === 0) return;
      target[name] = (target[name] as number) + amount;
    } else {
      const value = args[0] as string;
      const amount = (args[1] as number | undefined) ?? 1;
      if (!isCount(amount) || amount === 0 || !label.values.includes(value)) return;
      const series = target[name] as Record<string, number>;
      series[value] = series[value]! + amount;
    }
    this.onChange();
  }

  /** The current value of one counter (a number, or one per label value). */
  get<N extends CounterName>(name: N): CounterValues[N] {
    const value = this.values[name] as number | Record<string, number>;
    return (typeof value === 'number' ? value : { ...value }) as CounterValues[N];
  }

  /** What to send: the counters that are not 0 (see CounterCounts). */
  counts(): CounterCounts {
    const counts: Record<string, number | Record<string, number>> = {};
    for (const name of NAMES) {
      const value = this.values[name] as number | Record<string, number>;
      if (typeof value === 'number') {
        if (value > 0) counts[name] = value;
        continue;
      }
      const nonZero = Object.entries(value).filter(([, n]) => n > 0);
      if (nonZero.length > 0) counts[name] = Object.fromEntries(nonZero);
    }
    return counts as CounterCounts;
  }
}

/** What countersLine() says when every counter is 0. */
export const NOTHING_COUNTED = 'nothing counted yet';

/** `status`'s line: each counter that is not 0, labelled ones with their values ("recipients 4 (2xx 2, 4xx 1, 5xx 1)"). */
export function countersLine(values: CounterValues): string {
  const parts: string[] = [];
  for (const name of NAMES) {
    const total = counterTotal(values, name);
    if (total === 0) continue;
    const value = values[name] as number | Record<string, number>;
    const split =
      typeof value === 'number'
        ? ''
        : ` (${Object.entries(value)
            .filter(([, n]) => n > 0)
            .map(([label, n]) => `${label} ${n}`)
            .join(', ')})`;
    parts.push(`${definition(name).short} ${total}${split}`);
  }
  return parts.length === 0 ? NOTHING_COUNTED : parts.join('; ');
}

/** The README's table of these counters (`npm run docs`; test/http/metrics-counters.test.ts keeps it current). */
export function countersReference(): string {
  const rows = NAMES.map((name) => {
    const { metric, help, label } = definition(name);
    const labels = label === undefined ? '' : `\`${label.name}\`: ${label.values.map((v) => `\`${v}\``).join(', ')}`;
    return `| \`${metric}\` | ${labels} | ${help.replace(/\|/g, '\\|')} |`;
  });
  return ['| Counter | Labels | Counts |', '| --- | --- | --- |', ...rows].join('\n');
}
