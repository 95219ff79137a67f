/**
 * Member files, as `switchyard members import` reads them and `members
 * export` writes them. One member per line, in any of:
 *
 *     anne@example.org
 *     anne@example.org,Anne Example          (CSV: address, name; RFC 4180 quoting)
 *     "anne@example.org","Example, Anne"
 *     Anne Example <anne@example.org>
 *
 * Blank lines and lines starting with `#` are skipped; so is a first line
 * that is a CSV header (`address,name` or `email,...`). An invalid line is
 * reported with its number and reason, and the import goes on.
 *
 * Writes go through Store.addMembers in batches (one transaction each), so a
 * 100 000-line file costs a few dozen commits; killed midway, the batches
 * committed so far stay, and importing the file again counts them as
 * already members.
 */
import { addressProblem } from './address.js';
import { CsvSyntaxError, formatCsvRecord, parseCsvRecord } from './csv.js';
import type { Member, NewMember, Role, Store } from './store.js';

export interface InvalidLine {
  /** 1-based line number in the file. */
  line: number;
  /** The line as read (at most 200 characters). */
  text: string;
  reason: string;
}

export interface ImportResult {
  list: string;
  /** Lines read, including skipped and invalid ones. */
  lines: number;
  added: number;
  /** Already on the list with this role, or repeated in the file. */
  existing: number;
  invalid: InvalidLine[];
}

export interface ImportOptions {
  role?: Role;
  /** Rows per transaction; default 5000. */
  batchSize?: number;
  /** Called after each batch with the number of lines read so far. */
  onProgress?: (lines: number) => void;
}

export type ParsedLine = { skip: true } | { skip: false; member: { address: string; displayName: string } } | { skip: false; problem: string };

const ANGLE = /^(.*?)\s*<([^<>]*)>$/;
const HEADER = /^\s*"?(address|email|e-mail)"?\s*(,|$)/i;

/** One line of a member file (without its line ending); on line 1 a BOM and a CSV header are skipped. */
export function parseMemberLine(raw: string, lineNumber = 2): ParsedLine {
  const line = lineNumber === 1 ? raw.replace(/^\uFEFF/, '') : raw;
  const trimmed = line.trim();
  if (trimmed === '' || trimmed.startsWith('#')) return { skip: true };
  if (lineNumber === 1 && HEADER.test(trimmed)) return { skip: true };
  let address: string;
  let displayName = '';
  const angle = ANGLE.exec(trimmed);
  if (addressProblem(trimmed) === null) {
    // A bare address, even one whose quoted local part holds a comma.
    address = trimmed;
  } else if (angle) {
    displayName = (angle[1] as string).replace(/^"(.*)"$/, '$1').replace(/\\(.)/g, '$1').trim();
    address = (angle[2] as string).trim();
  } else if (trimmed.includes(',') || trimmed.startsWith('"')) {
    let fields: string[];
    try {
      fields = parseCsvRecord(trimmed);
    } catch (error) {
      if (error instanceof CsvSyntaxError) return { skip: false, problem: `CSV: ${error.message}` };
      throw error;
    }
    if (fields.length > 2) return { skip: false, problem: `expected address and name, found ${fields.length} fields` };
    address = (fields[0] as string).trim();
    displayName = (fields[1] ?? '').trim();
  } else {
    address = trimmed;
  }
  if (/[\x00-\x1f\x7f-\x9f]/.test(displayName)) return { skip: false, problem: 'control character in the name' };
  const problem = addressProblem(address);
  if (problem !== null) return { skip: false, problem: `${JSON.stringify(address)}: ${problem}` };
  return { skip: false, member: { address, displayName } };
}

/** Import the lines of a member file into `list`, which must exist (ListUnknownError before anything is read). */
export async function importMembers(store: Store, list: string, lines: AsyncIterable<string> | Iterable<string>, options: ImportOptions = {}): Promise<ImportResult> {
  const { address } = await store.getList(list);
  const role = options.role ?? 'member';
  const batchSize = options.batchSize ?? 5000;
  const result: ImportResult = { list: address, lines: 0, added: 0, existing: 0, invalid: [] };
  let batch: NewMember[] = [];
  const flush = async (): Promise<void> => {
    if (batch.length > 0) {
      const { added, existing } = await store.addMembers(address, batch);
      result.added += added;
      result.existing += existing;
      batch = [];
    }
    options.onProgress?.(result.lines);
  };
  for await (const line of lines) {
    result.lines++;
    const parsed = parseMemberLine(line, result.lines);
    if (parsed.skip) continue;
    if ('problem' in parsed) {
      result.invalid.push({ line: result.lines, text: line.length > 200 ? `${line.slice(0, 200)}...` : line, reason: parsed.problem });
      continue;
    }
    batch.push({ ...parsed.member, role });
    if (batch.length >= batchSize) await flush();
  }
  await flush();
  return result;
}

/** A member as one line of a member file: CSV (address, name) or the bare address. */
export function formatMemberLine(member: Pick<Member, 'address' | 'displayName'>, format: 'csv' | 'lines'): string {
  if (format === 'lines') return member.address;
  return formatCsvRecord(member.displayName === '' ? [member.address] : [member.address, member.displayName]);
}
