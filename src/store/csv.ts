/**
 * The little CSV that member files need (RFC 4180): fields separated by
 * commas, a field in double quotes may hold commas and `""` for a quote.
 * One record per line: a quoted field spanning lines is reported as an
 * unterminated quote, since member files are read line by line.
 */
import { SwitchyardError } from '../errors.js';

/** A record that is not CSV; the importer reports it as that line's problem. */
export class CsvSyntaxError extends SwitchyardError {
  constructor(message: string) {
    super('SY_CSV_SYNTAX', message);
  }
}

/** The fields of one CSV record (without its line ending). Unquoted fields are trimmed; quoted ones kept exactly. */
export function parseCsvRecord(line: string): string[] {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    // Leading blanks before a quoted field are tolerated (`a@example.org, "Name"`).
    let j = i;
    while (line[j] === ' ' || line[j] === '\t') j++;
    if (line[j] === '"') {
      let value = '';
      j++;
      for (;;) {
        const quote = line.indexOf('"', j);
        if (quote < 0) throw new CsvSyntaxError('unterminated quoted field');
        value += line.slice(j, quote);
        if (line[quote + 1] === '"') {
          value += '"';
          j = quote + 2;
          continue;
        }
        j = quote + 1;
        break;
      }
      while (line[j] === ' ' || line[j] === '\t') j++;
      if (j < line.length && line[j] !== ',') throw new CsvSyntaxError(`unexpected ${JSON.stringify(line[j])} after a quoted field`);
      fields.push(value);
    } else {
      const comma = line.indexOf(',', i);
      const end = comma < 0 ? line.length : comma;
      const value = line.slice(i, end);
      if (value.includes('"')) throw new CsvSyntaxError('a quote inside an unquoted field');
      fields.push(value.trim());
      j = end;
    }
    if (j >= line.length) return fields;
    i = j + 1; // past the comma
  }
}

/** One CSV record: fields quoted when they hold a comma, quote, line break or edge blanks. */
export function formatCsvRecord(fields: readonly string[]): string {
  return fields.map((field) => (/[",\r\n]|^\s|\s$/.test(field) ? `"${field.replaceAll('"', '""')}"` : field)).join(',');
}
