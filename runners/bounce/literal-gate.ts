/**
 * Literal gates: the classifier's cheap first look at a text. For a regular
 * expression, requiredLiterals() derives from its source a few lower-case
 * strings one of which every match must contain (as RE2's and Hyperscan's
 * prefilters do), and LiteralGate tests `lower.includes()` of those before
 * running the expression. A text that contains none of them cannot match, so
 * the expression is not run at all: most detectors' markers and most rows of
 * the reason table (reason-text.ts) are absent from most bounces, and a
 * substring search of the lower-cased text (computed once per message) costs
 * far less than a case-insensitive alternation tried at every position.
 *
 * Exact, never a guess: the derivation is conservative (whatever it does not
 * understand requires nothing, and the expression always runs), so a gated
 * test answers exactly what the expression alone answers. Lower-cased
 * literals are sound because only ASCII and caseless characters are kept:
 * with the `i` flag an ASCII letter of the pattern matches only that letter
 * in either case (ECMAScript Canonicalize; with `u`, `s` and `k` also match
 * U+017F and U+212A, so those two are not kept), and `toLowerCase()` maps
 * such characters one to one.
 */

/** Lower-case strings one of which every match contains; undefined when nothing is required. */
type Need = readonly string[] | undefined;

interface Atom {
  /** The one character this atom matches (lower case), when it is a plain literal. */
  literal?: string;
  need: Need;
}

class Unsupported extends Error {}

/** Prefer longer literals (more selective), then fewer of them (fewer searches). */
function score(need: readonly string[]): number {
  const shortest = Math.min(...need.map((literal) => literal.length));
  return Math.min(shortest, 12) * 16 - need.length;
}

/** `need` without the strings that contain another of its strings (finding the shorter one is implied). */
function minimal(need: readonly string[]): readonly string[] {
  const unique = [...new Set(need)].sort((a, b) => a.length - b.length);
  const kept: string[] = [];
  for (const literal of unique) if (!kept.some((shorter) => literal.includes(shorter))) kept.push(literal);
  return kept;
}

class Parser {
  private at = 0;

  constructor(
    private readonly source: string,
    private readonly ignoreCase: boolean,
    private readonly unicode: boolean,
  ) {}

  parse(): Need {
    const need = this.alternation();
    if (this.at !== this.source.length) throw new Unsupported('unbalanced )');
    return need;
  }

  private alternation(): Need {
    const alternatives: Need[] = [this.sequence()];
    while (this.source[this.at] === '|') {
      this.at++;
      alternatives.push(this.sequence());
    }
    if (alternatives.some((need) => need === undefined)) return undefined;
    return minimal((alternatives as (readonly string[])[]).flat());
  }

  private sequence(): Need {
    const candidates: (readonly string[])[] = [];
    let run = '';
    const flush = (): void => {
      if (run !== '') candidates.push([run]);
      run = '';
    };
    while (this.at < this.source.length && this.source[this.at] !== '|' && this.source[this.at] !== ')') {
      const atom = this.atom();
      const min = this.quantifierMin();
      if (min === undefined && atom.literal !== undefined) {
        run += atom.literal;
        continue;
      }
      flush();
      if (min === undefined || min >= 1) {
        const need = atom.literal !== undefined ? [atom.literal] : atom.need;
        if (need !== undefined) candidates.push(need);
      }
    }
    flush();
    let best: Need;
    for (const candidate of candidates) if (best === undefined || score(candidate) > score(best)) best = candidate;
    return best;
  }

  /** The minimum count of a quantifier after an atom (consumed), undefined when there is none. */
  private quantifierMin(): number | undefined {
    const char = this.source[this.at];
    let min: number | undefined;
    if (char === '?' || char === '*') min = 0;
    else if (char === '+') min = 1;
    else if (char === '{') {
      const match = /^\{(\d+)(?:,(\d*))?\}/.exec(this.source.slice(this.at));
      if (match === null) {
        if (this.unicode) throw new Unsupported('lone {');
        return undefined;
      }
      this.at += match[0].length - 1;
      min = Number(match[1]);
    }
    if (min === undefined) return undefined;
    this.at++;
    if (this.source[this.at] === '?') this.at++;
    return min;
  }

  private atom(): Atom {
    const char = this.source[this.at] as string;
    this.at++;
    switch (char) {
      case '(':
        return this.group();
      case '[':
        this.skipClass();
        return { need: undefined };
      case '.':
      case '^':
      case '$':
        return { need: undefined };
      case '\\':
        return this.escape();
      case '*':
      case '+':
      case '?':
      case ']':
      case '}':
        throw new Unsupported(`unexpected ${char}`);
      case '{':
        if (this.unicode) throw new Unsupported('lone {');
        return this.literal(char);
      default:
        return this.literal(char);
    }
  }

  private group(): Atom {
    let lookaround = false;
    if (this.source[this.at] === '?') {
      const kind = this.source.slice(this.at, this.at + 3);
      if (kind.startsWith('?:')) this.at += 2;
      else if (kind.startsWith('?=') || kind.startsWith('?!')) {
        this.at += 2;
        lookaround = true;
      } else if (kind === '?<=' || kind === '?<!') {
        this.at += 3;
        lookaround = true;
      } else if (kind.startsWith('?<')) {
        const end = this.source.indexOf('>', this.at);
        if (end < 0) throw new Unsupported('group name');
        this.at = end + 1;
      } else throw new Unsupported(`group ${kind}`);
    }
    const need = this.alternation();
    if (this.source[this.at] !== ')') throw new Unsupported('unclosed (');
    this.at++;
    return { need: lookaround ? undefined : need };
  }

  private skipClass(): void {
    while (this.at < this.source.length && this.source[this.at] !== ']') this.at += this.source[this.at] === '\\' ? 2 : 1;
    if (this.source[this.at] !== ']') throw new Unsupported('unclosed [');
    this.at++;
  }

  private escape(): Atom {
    const char = this.source[this.at];
    if (char === undefined) throw new Unsupported('trailing \\');
    this.at++;
    switch (char) {
      case 'b':
      case 'B':
      case 'd':
      case 'D':
      case 'w':
      case 'W':
      case 's':
      case 'S':
        return { need: undefined };
      case 'p':
      case 'P':
      case 'k': {
        const close = char === 'k' ? '>' : '}';
        const end = this.source.indexOf(close, this.at);
        if (end < 0) throw new Unsupported(`\\${char}`);
        this.at = end + 1;
        return { need: undefined };
      }
      case 'n':
        return this.literal('\n');
      case 't':
        return this.literal('\t');
      case 'r':
        return this.literal('\r');
      case 'f':
        return this.literal('\f');
      case 'v':
        return this.literal('\v');
      case 'x':
      case 'u': {
        const match = char === 'x' ? /^[0-9a-fA-F]{2}/.exec(this.source.slice(this.at)) : /^[0-9a-fA-F]{4}/.exec(this.source.slice(this.at));
        if (match === null) throw new Unsupported(`\\${char}`);
        this.at += match[0].length;
        return this.literal(String.fromCharCode(Number.parseInt(match[0], 16)));
      }
      case 'c':
      case '0':
        throw new Unsupported(`\\${char}`);
      default:
        if (/[1-9]/.test(char)) return { need: undefined };
        if (/[A-Za-z]/.test(char)) throw new Unsupported(`\\${char}`);
        return this.literal(char);
    }
  }

  /** A literal character as the lower-cased text has it, or a non-literal when lower-casing is not sound for it. */
  private literal(char: string): Atom {
    const ascii = char.charCodeAt(0) < 128;
    if (ascii) {
      const lower = char.toLowerCase();
      if (this.ignoreCase && this.unicode && (lower === 's' || lower === 'k')) return { need: undefined };
      return { literal: lower, need: [lower] };
    }
    // Caseless characters (CJK, punctuation) only; a surrogate half is never a literal on its own.
    const code = char.charCodeAt(0);
    if (code >= 0xd800 && code <= 0xdfff) return { need: undefined };
    if (char.toLowerCase() !== char || char.toUpperCase() !== char) return { need: undefined };
    return { literal: char, need: [char] };
  }
}

/** Lower-case strings one of which every match of `pattern` contains; undefined when the derivation finds none. */
export function requiredLiterals(pattern: RegExp): readonly string[] | undefined {
  try {
    const need = new Parser(pattern.source, pattern.flags.includes('i'), pattern.flags.includes('u') || pattern.flags.includes('v')).parse();
    return need === undefined || need.length === 0 || need.includes('') ? undefined : need;
  } catch (error) {
    if (error instanceof Unsupported) return undefined;
    throw error;
  }
}

/** A regular expression behind its literal gate. Only for expressions without `g` or `y` (test() must not depend on lastIndex). */
export class LiteralGate {
  readonly literals: readonly string[] | undefined;
  /**
   * The literals as one case-sensitive alternation of plain strings: one search of the lower-cased text (V8
   * skips through it for a single literal, and drops non-Latin-1 literals at once on a Latin-1 text, which
   * indexOf() does not).
   */
  private readonly anyLiteral: RegExp | undefined;

  constructor(readonly pattern: RegExp) {
    if (pattern.global || pattern.sticky) throw new TypeError(`LiteralGate: /${pattern.source}/${pattern.flags} has state (g or y)`);
    this.literals = requiredLiterals(pattern);
    this.anyLiteral = this.literals === undefined ? undefined : new RegExp(this.literals.map((literal) => literal.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&')).join('|'));
  }

  /** False only when `lower` (the text, lower-cased) cannot hold a match. */
  mayMatch(lower: string): boolean {
    return this.anyLiteral === undefined || this.anyLiteral.test(lower);
  }

  /** pattern.test(text); `lower` is text.toLowerCase(). */
  test(text: string, lower: string): boolean {
    return this.mayMatch(lower) && this.pattern.test(text);
  }

  /** pattern.exec(text) (null without running it when the gate is closed); `lower` is text.toLowerCase(). */
  exec(text: string, lower: string): RegExpExecArray | null {
    return this.mayMatch(lower) ? this.pattern.exec(text) : null;
  }
}
