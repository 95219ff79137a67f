/**
 * Durations as operators write them, in switchyard.toml and on the command
 * line: `500ms`, `30s`, `15m`, `12h`, `7d`, `2w`, or a sum such as `1d12h`.
 * Every part needs a unit: a bare `30` could mean seconds or days, and
 * guessing wrong in `queue purge` deletes mail. (In the TOML file a bare
 * number is accepted and means seconds, since there it is typed, not guessed.)
 */
import { SwitchyardError } from '../errors.js';

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;
type Unit = keyof typeof UNIT_MS;

const WHOLE = /^(?:\d+(?:ms|[smhdw]))+$/;
const PART = /(\d+)(ms|[smhdw])/g;

export class DurationSyntaxError extends SwitchyardError {
  constructor(message: string) {
    super('SY_DURATION', message);
  }
}

/** Milliseconds in `text`; throws DurationSyntaxError with a message fit for the operator. */
export function parseDuration(text: string): number {
  if (!WHOLE.test(text)) {
    throw new DurationSyntaxError(`invalid duration ${JSON.stringify(text)}: use a number and a unit (s, m, h, d, w), e.g. 30s, 15m, 12h, 7d, 2w or 1d12h`);
  }
  let total = 0;
  for (const [, amount, unit] of text.matchAll(PART)) {
    total += Number(amount) * UNIT_MS[unit as Unit];
  }
  if (!Number.isSafeInteger(total)) throw new DurationSyntaxError(`duration ${JSON.stringify(text)} is too long`);
  return total;
}

/** The shortest exact way to write `ms` back (for `config show`). */
export function formatDuration(ms: number): string {
  for (const unit of ['w', 'd', 'h', 'm', 's'] as const) {
    const size = UNIT_MS[unit];
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
