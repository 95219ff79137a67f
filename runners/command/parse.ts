/**
 * Finding the email commands in a message, as Mailman does: the Subject
 * (less `Re:`/`Fwd:` and the like) may hold one, then the body's first
 * text/plain lines, one command a line, stopping at the first line that is
 * not a command, at a signature separator (`-- `) or at `end`. Quoted lines
 * (`> confirm ...`, as a reply to a confirmation quotes it) are read without
 * their quote marks. Blank lines are skipped.
 *
 * Bounded: at most `maxLines` lines are looked at, a line longer than
 * `maxLineLength` is not a command, and at most `maxCommands` commands are
 * kept (the rest counted, for the reply to say so). Pure functions.
 */

export interface ParsedCommand {
  /** The command's registry name (an alias is resolved). */
  name: string;
  /** The word as written, lower case. */
  word: string;
  args: string[];
  /** The line as read (quote marks removed), for the reply. */
  line: string;
  source: 'subject' | 'body' | 'address';
}

export interface ParsedCommands {
  commands: ParsedCommand[];
  /** Commands found past maxCommands, not run. */
  dropped: number;
  /** Commands repeated word for word, run once. */
  duplicates: number;
}

export interface ParseLimits {
  maxLines: number;
  maxLineLength: number;
  maxCommands: number;
}

export const PARSE_LIMITS: ParseLimits = { maxLines: 1000, maxLineLength: 500, maxCommands: 20 };

/** Reply and forward markers of several languages, repeated: `Re: Fwd: AW: confirm X`. */
const REPLY_PREFIX = /^\s*((re|fw|fwd|aw|wg|sv|vs|antw|tr|r)(\[\d+\])?\s*:\s*)+/i;

export function stripReplyPrefixes(subject: string): string {
  return subject.replace(REPLY_PREFIX, '').trim();
}

/** A line without its leading quote marks (`>`, `> >`, `>>`). */
function unquote(line: string): string {
  return line.replace(/^(\s*>)+\s?/, '');
}

function split(line: string): { word: string; args: string[] } {
  const words = line.trim().split(/\s+/);
  return { word: (words[0] ?? '').toLowerCase(), args: words.slice(1) };
}

/**
 * The commands of a Subject and body text. `resolve` maps a written word
 * to a command name (aliases included), or undefined for no command.
 */
export function parseCommands(subject: string, text: string | null, resolve: (word: string) => string | undefined, limits: ParseLimits = PARSE_LIMITS): ParsedCommands {
  const result: ParsedCommands = { commands: [], dropped: 0, duplicates: 0 };
  const seen = new Set<string>();
  const add = (line: string, source: ParsedCommand['source']): 'added' | 'not-command' | 'end' => {
    if (line.length > limits.maxLineLength) return 'not-command';
    const { word, args } = split(line);
    const name = resolve(word);
    if (name === undefined) return 'not-command';
    const key = `${name} ${args.join(' ').toLowerCase()}`;
    if (seen.has(key)) result.duplicates++;
    else if (result.commands.length >= limits.maxCommands) result.dropped++;
    else {
      seen.add(key);
      result.commands.push({ name, word, args, line: line.trim(), source });
    }
    return name === 'end' ? 'end' : 'added';
  };
  const fromSubject = stripReplyPrefixes(subject);
  if (fromSubject !== '' && add(fromSubject, 'subject') === 'end') return result;
  if (text === null) return result;
  let start = 0;
  for (let count = 0; count < limits.maxLines && start <= text.length; count++) {
    const newline = text.indexOf('\n', start);
    const rawLine = (newline < 0 ? text.slice(start) : text.slice(start, newline)).replace(/\r$/, '');
    start = newline < 0 ? text.length + 1 : newline + 1;
    if (rawLine === '-- ' || rawLine === '--') break;
    const line = unquote(rawLine);
    if (line.trim() === '') continue;
    const outcome = add(line, 'body');
    if (outcome !== 'added') break;
  }
  return result;
}
