/**
 * A small parser for the Python that Mailman 2.1's `config_list -o` writes:
 * `name = literal` statements and comments, where a literal is a string
 * (quotes of every kind, u/b/r prefixes, escapes, adjacent strings joined),
 * a number, True/False/None, or a list, tuple or dict of literals. It is
 * never evaluated: anything else (a name, a call, an operator, an import)
 * is refused with ImportUnsafeError naming the line.
 */
import { ImportUnsafeError } from './errors.js';

export type PyValue = null | boolean | number | string | PyValue[] | { [key: string]: PyValue };

class Reader {
  at = 0;
  constructor(readonly text: string) {}

  line(): number {
    return this.text.slice(0, this.at).split('\n').length;
  }

  fail(what: string): never {
    throw new ImportUnsafeError(`config_list output, line ${this.line()}: ${what}; only name = literal statements are read, never evaluated`);
  }

  /** Skip spaces, comments and (inside brackets) newlines and backslash continuations. */
  skip(newlines: boolean): void {
    for (;;) {
      const c = this.text[this.at];
      if (c === ' ' || c === '\t' || c === '\r' || c === '\f') this.at++;
      else if (c === '\\' && this.text[this.at + 1] === '\n') this.at += 2;
      else if (c === '#') while (this.at < this.text.length && this.text[this.at] !== '\n') this.at++;
      else if (c === '\n' && newlines) this.at++;
      else return;
    }
  }

  value(): PyValue {
    this.skip(true);
    const c = this.text[this.at];
    if (c === undefined) this.fail('a value is missing');
    if (c === '[' || c === '(') return this.sequence(c === '[' ? ']' : ')');
    if (c === '{') return this.dict();
    if (c === '-' || c === '+' || /[0-9.]/.test(c)) return this.number();
    const prefixed = /^([rRuUbB]{0,2})(['"])/.exec(this.text.slice(this.at, this.at + 3));
    if (prefixed !== null) {
      let joined = '';
      // Adjacent literals are one string, as in Python.
      while (/^[rRuUbB]{0,2}['"]/.test(this.text.slice(this.at, this.at + 3))) {
        joined += this.string();
        this.skip(this.depth > 0);
      }
      this.after();
      return joined;
    }
    const word = /^[A-Za-z_][A-Za-z0-9_.]*/.exec(this.text.slice(this.at))?.[0];
    if (word === 'True' || word === 'False' || word === 'None') {
      this.at += word.length;
      return word === 'None' ? null : word === 'True';
    }
    if (word !== undefined) this.fail(`"${word}" is a name or an expression, not a literal`);
    this.fail(`unexpected ${JSON.stringify(c)}`);
  }

  depth = 0;

  sequence(close: string): PyValue[] {
    this.at++;
    this.depth++;
    const items: PyValue[] = [];
    for (;;) {
      this.skip(true);
      if (this.text[this.at] === close) break;
      items.push(this.value());
      this.skip(true);
      if (this.text[this.at] === ',') this.at++;
      else if (this.text[this.at] !== close) this.fail(`expected , or ${close}`);
    }
    this.at++;
    this.depth--;
    this.after();
    return items;
  }

  dict(): { [key: string]: PyValue } {
    this.at++;
    this.depth++;
    const out: { [key: string]: PyValue } = {};
    for (;;) {
      this.skip(true);
      if (this.text[this.at] === '}') break;
      const key = this.value();
      this.skip(true);
      if (this.text[this.at] !== ':') this.fail('expected : in a dict');
      this.at++;
      out[String(key)] = this.value();
      this.skip(true);
      if (this.text[this.at] === ',') this.at++;
      else if (this.text[this.at] !== '}') this.fail('expected , or }');
    }
    this.at++;
    this.depth--;
    this.after();
    return out;
  }

  /** After a literal: a call or subscript would make it an expression. */
  after(): void {
    const save = this.at;
    this.skip(this.depth > 0);
    const c = this.text[this.at];
    if (c === '(' || c === '[' || c === '.' || (c !== undefined && /[+*%/&|^<>=-]/.test(c))) this.fail(`an expression (${JSON.stringify(c)} after a literal)`);
    this.at = save;
  }

  number(): number {
    const match = /^[+-]?(0[xX][0-9a-fA-F]+|0[oO]?[0-7]+|\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)[lL]?/.exec(this.text.slice(this.at));
    if (match === null) this.fail('not a number');
    this.at += match[0].length;
    this.after();
    const text = match[0].replace(/[lL]$/, '');
    const sign = text.startsWith('-') ? -1 : 1;
    const bare = text.replace(/^[+-]/, '');
    if (/^0[xX]/.test(bare)) return sign * parseInt(bare.slice(2), 16);
    if (/^0[oO]/.test(bare)) return sign * parseInt(bare.slice(2), 8);
    if (/^0[0-7]+$/.test(bare)) return sign * parseInt(bare, 8);
    return sign * Number(bare);
  }

  string(): string {
    const prefix = /^[rRuUbB]{0,2}/.exec(this.text.slice(this.at))![0];
    this.at += prefix.length;
    const raw = /[rR]/.test(prefix);
    const quote = this.text.startsWith(this.text[this.at]!.repeat(3), this.at) ? this.text[this.at]!.repeat(3) : this.text[this.at]!;
    this.at += quote.length;
    let out = '';
    for (;;) {
      if (this.at >= this.text.length) this.fail('a string is not closed');
      if (this.text.startsWith(quote, this.at)) {
        this.at += quote.length;
        return out;
      }
      const c = this.text[this.at]!;
      if (c === '\n' && quote.length === 1) this.fail('a string is not closed on its line');
      if (c !== '\\') {
        out += c;
        this.at++;
        continue;
      }
      const next = this.text[this.at + 1] ?? '';
      if (raw) {
        out += c + next;
        this.at += 2;
        continue;
      }
      this.at += 2;
      const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"', a: '\x07', b: '\b', f: '\f', v: '\v', '\n': '' };
      if (simple[next] !== undefined) out += simple[next];
      else if (next === 'x' || next === 'u' || next === 'U') {
        const width = next === 'x' ? 2 : next === 'u' ? 4 : 8;
        const hex = this.text.slice(this.at, this.at + width);
        if (!new RegExp(`^[0-9a-fA-F]{${width}}$`).test(hex)) this.fail(`bad \\${next} escape`);
        out += String.fromCodePoint(parseInt(hex, 16));
        this.at += width;
      } else if (/[0-7]/.test(next)) {
        const digits = /^[0-7]{1,3}/.exec(this.text.slice(this.at - 1))![0];
        out += String.fromCharCode(parseInt(digits, 8));
        this.at += digits.length - 1;
      } else out += `\\${next}`;
    }
  }
}

/** The `name = literal` assignments of a config_list -o file, in order. */
export function parseConfigList(text: string): Record<string, PyValue> {
  const reader = new Reader(text.replace(/\r\n/g, '\n'));
  const out: Record<string, PyValue> = {};
  for (;;) {
    reader.skip(true);
    if (reader.at >= reader.text.length) return out;
    const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(reader.text.slice(reader.at))?.[0];
    if (name === undefined) return reader.fail('expected a setting name');
    reader.at += name.length;
    reader.skip(false);
    if (reader.text[reader.at] !== '=' || reader.text[reader.at + 1] === '=') reader.fail(`"${name}" is not followed by =`);
    reader.at++;
    out[name] = reader.value();
    reader.skip(false);
    const end = reader.text[reader.at];
    if (end !== undefined && end !== '\n' && end !== ';') reader.fail('more after the value');
    if (end === ';') reader.at++;
  }
}
