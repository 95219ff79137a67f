/**
 * Member files, as `switchyard members import`, the REST API's
 * `POST /api/v1/lists/LIST/members/import` and the web admin's import form
 * read them, and `members export` writes them. One member per line, in any of:
 *
 *     anne@example.org
 *     anne@example.org,Anne Example          (CSV: address, name; RFC 4180 quoting)
 *     "anne@example.org","Example, Anne"
 *     Anne Example <anne@example.org>
 *
 * Blank lines and lines starting with `#` are skipped. A first line that is
 * a CSV header (its first field `address`, `email` or `e-mail`, or any field
 * naming the address column and no `@` in the line) names the columns, in
 * any order: `address` (required), `name`, `delivery_mode`
 * (regular, mime_digests, plain_digests, summary_digests, or mime, plain,
 * summary, digest) and `delivery_status` (enabled, by_user, by_owner, or on,
 * off); case, `_`, `-` and blanks in the names do not matter. A header
 * naming another column is refused before anything is written
 * (MemberImportHeaderError). Without a header, a line is address and name.
 *
 * An invalid line is reported with its number, code and reason, and the
 * import goes on. Writes go through Store.addMembers in batches (one
 * transaction each), so a 100 000-line file costs a few dozen commits;
 * killed midway, the batches committed so far stay, and importing the file
 * again counts them as already members (an import never changes a member
 * already there).
 */
import { EXIT_USAGE, SwitchyardError } from '../errors.js';
import { addressProblem, parseAddress } from './address.js';
import { CsvSyntaxError, formatCsvRecord, parseCsvRecord } from './csv.js';
import { deliveryModeOf, deliveryStatusOf } from './delivery-words.js';
import type { DeliveryMode, DeliveryStatus, Member, NewMember, Role, Store } from './store.js';

/** A header line naming a column the importer does not know (or none for the address): nothing was imported. */
export class MemberImportHeaderError extends SwitchyardError {
  constructor(problem: string) {
    super('SY_MEMBER_IMPORT_HEADER', `the member file's header line: ${problem}; the columns are address (required), name, delivery_mode, delivery_status`, { exitCode: EXIT_USAGE });
  }
}

/** The codes an invalid line is reported with. */
export type InvalidLineCode = 'SY_ADDRESS_INVALID' | 'SY_CSV_SYNTAX' | 'SY_MEMBER_IMPORT_FIELD';

export interface InvalidLine {
  /** 1-based line number in the file. */
  line: number;
  /** The line as read (at most 200 characters). */
  text: string;
  /** The address field as read (at most 200 characters), null when the line could not be split into fields. */
  address: string | null;
  code: InvalidLineCode;
  reason: string;
}

export interface ImportResult {
  list: string;
  /** Lines read, including skipped and invalid ones. */
  lines: number;
  /** Member rows read (lines that are not blank, a comment or the header). */
  rows: number;
  added: number;
  /** Already on the list with this role, or repeated in the file. */
  existing: number;
  /** Invalid rows; `invalid` lists them unless they went to `onInvalid`. */
  errors: number;
  invalid: InvalidLine[];
  dryRun: boolean;
}

/** How far an import is: after each committed batch, after the header, and at the end. */
export interface ImportProgress {
  /** Lines read so far. */
  lines: number;
  /** Member rows handled so far: added + existing + errors. */
  processed: number;
  /** Member rows in the whole file, when the caller knows (ImportOptions.total). */
  total: number | undefined;
  added: number;
  existing: number;
  errors: number;
}

export interface ImportOptions {
  role?: Role;
  /** Rows per transaction, and so per progress report; default 5000. */
  batchSize?: number;
  /** Validate and count what would be added, writing nothing. */
  dryRun?: boolean;
  /** The number of member rows, for the progress reports (countMemberRows()). */
  total?: number;
  /** Called after each batch with the number of lines read so far; awaited (back-pressure for a slow reader). */
  onProgress?: (lines: number, progress: ImportProgress) => unknown;
  /** Each invalid line as it is found, instead of collecting them in the result; awaited. */
  onInvalid?: (invalid: InvalidLine) => unknown;
}

/** Which field of a CSV row holds what; `legacy`: address and name, where the bare and `Name <address>` forms are read too. */
export interface MemberColumns {
  address: number;
  name?: number;
  deliveryMode?: number;
  deliveryStatus?: number;
  count: number;
  legacy: boolean;
}

export interface ParsedMember {
  address: string;
  displayName: string;
  deliveryMode?: DeliveryMode;
  deliveryStatus?: DeliveryStatus;
}

export type ParsedLine = { skip: true } | { skip: false; member: ParsedMember } | { skip: false; problem: string; code: InvalidLineCode; address: string | null };

const ANGLE = /^(.*?)\s*<([^<>]*)>$/;
const HEADER = /^\s*"?(address|email|e-mail)"?\s*(,|$)/i;
const LEGACY_COLUMNS: MemberColumns = { address: 0, name: 1, count: 2, legacy: true };

const COLUMN_NAMES: Readonly<Record<string, keyof Omit<MemberColumns, 'count' | 'legacy'>>> = {
  address: 'address',
  email: 'address',
  emailaddress: 'address',
  name: 'name',
  displayname: 'name',
  realname: 'name',
  fullname: 'name',
  deliverymode: 'deliveryMode',
  deliverystatus: 'deliveryStatus',
};

/** Delivery statuses a file may set: by_bounces is bounce processing's to set (it comes with a score and reminders). */
const IMPORTABLE_STATUSES: readonly DeliveryStatus[] = ['enabled', 'by_user', 'by_owner'];

const columnKey = (name: string) => COLUMN_NAMES[name.toLowerCase().replace(/[\s_-]/g, '')];

/** Whether line 1 (BOM included) is a CSV header: its first field is address or email, or it names one and holds no address. */
export function isHeaderLine(raw: string): boolean {
  const line = raw.replace(/^\uFEFF/, '').trim();
  if (HEADER.test(line)) return true;
  if (line.includes('@')) return false;
  try {
    return parseCsvRecord(line).some((field) => columnKey(field) === 'address');
  } catch {
    return false;
  }
}

/** The columns a header line names; MemberImportHeaderError for an unknown, repeated or missing column. */
export function parseHeader(raw: string): MemberColumns {
  let names: string[];
  try {
    names = parseCsvRecord(raw.replace(/^\uFEFF/, '').trim());
  } catch (error) {
    if (error instanceof CsvSyntaxError) throw new MemberImportHeaderError(`not CSV: ${error.message}`);
    throw error;
  }
  const columns: Partial<MemberColumns> = {};
  names.forEach((name, index) => {
    const key = columnKey(name);
    if (key === undefined) throw new MemberImportHeaderError(`unknown column ${JSON.stringify(name.slice(0, 40))}`);
    if (columns[key] !== undefined) throw new MemberImportHeaderError(`column ${JSON.stringify(name.slice(0, 40))} given twice`);
    columns[key] = index;
  });
  if (columns.address === undefined) throw new MemberImportHeaderError('no address column');
  const legacy = columns.address === 0 && (columns.name === undefined || columns.name === 1) && columns.deliveryMode === undefined && columns.deliveryStatus === undefined;
  return legacy ? LEGACY_COLUMNS : { ...columns, address: columns.address, count: names.length, legacy };
}

/** The number of member rows in a file's lines (not blank, not a comment, not the header): the `total` of the progress reports. */
export function countMemberRows(lines: readonly string[]): number {
  let rows = 0;
  lines.forEach((line, index) => {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#') || (index === 0 && isHeaderLine(line))) return;
    rows++;
  });
  return rows;
}

const clip = (text: string): string => (text.length > 200 ? `${text.slice(0, 200)}...` : text);

function invalid(code: InvalidLineCode, problem: string, address: string | null): ParsedLine {
  return { skip: false, problem, code, address: address === null ? null : clip(address) };
}

/**
 * One line of a member file (without its line ending). On line 1 a BOM is
 * dropped and a header is skipped (parseHeader() reads it); `columns` are
 * those of the file's header, if it had one.
 */
export function parseMemberLine(raw: string, lineNumber = 2, columns: MemberColumns = LEGACY_COLUMNS): ParsedLine {
  const line = lineNumber === 1 ? raw.replace(/^\uFEFF/, '') : raw;
  const trimmed = line.trim();
  if (trimmed === '' || trimmed.startsWith('#')) return { skip: true };
  if (lineNumber === 1 && isHeaderLine(trimmed)) return { skip: true };
  let address: string;
  let displayName = '';
  let mode = '';
  let status = '';
  const angle = columns.legacy ? ANGLE.exec(trimmed) : null;
  if (columns.legacy && addressProblem(trimmed) === null) {
    // A bare address, even one whose quoted local part holds a comma.
    address = trimmed;
  } else if (angle) {
    displayName = (angle[1] as string).replace(/^"(.*)"$/, '$1').replace(/\\(.)/g, '$1').trim();
    address = (angle[2] as string).trim();
  } else if (!columns.legacy || trimmed.includes(',') || trimmed.startsWith('"')) {
    let fields: string[];
    try {
      fields = parseCsvRecord(trimmed);
    } catch (error) {
      if (error instanceof CsvSyntaxError) return invalid('SY_CSV_SYNTAX', `CSV: ${error.message}`, null);
      throw error;
    }
    const field = (index: number | undefined): string => (index === undefined ? '' : (fields[index] ?? '').trim());
    address = field(columns.address);
    if (fields.length > columns.count) {
      const expected = columns.legacy ? 'address and name' : `${columns.count} fields as the header names`;
      return invalid('SY_MEMBER_IMPORT_FIELD', `expected ${expected}, found ${fields.length} fields`, address);
    }
    displayName = field(columns.name);
    mode = field(columns.deliveryMode);
    status = field(columns.deliveryStatus);
  } else {
    address = trimmed;
  }
  if (/[\x00-\x1f\x7f-\x9f]/.test(displayName)) return invalid('SY_MEMBER_IMPORT_FIELD', 'control character in the name', address);
  const problem = addressProblem(address);
  if (problem !== null) return invalid('SY_ADDRESS_INVALID', `${JSON.stringify(clip(address))}: ${problem}`, address);
  const member: ParsedMember = { address, displayName };
  if (mode !== '') {
    const deliveryMode = deliveryModeOf(mode);
    if (deliveryMode === undefined) return invalid('SY_MEMBER_IMPORT_FIELD', `delivery_mode ${JSON.stringify(clip(mode))} is not regular, mime_digests, plain_digests or summary_digests (or mime, plain, summary, digest)`, address);
    member.deliveryMode = deliveryMode;
  }
  if (status !== '') {
    const deliveryStatus = deliveryStatusOf(status);
    if (deliveryStatus === undefined || !IMPORTABLE_STATUSES.includes(deliveryStatus)) {
      return invalid('SY_MEMBER_IMPORT_FIELD', `delivery_status ${JSON.stringify(clip(status))} is not enabled, by_user or by_owner (or on, off); by_bounces is set by bounce processing only`, address);
    }
    member.deliveryStatus = deliveryStatus;
  }
  return { skip: false, member };
}

/** The address keys `role` holds on `list`: what a dry run counts as already there. */
async function existingKeys(store: Store, list: string, role: Role): Promise<Set<string>> {
  return new Set((await store.members(list, { role })).map((member) => parseAddress(member.address).key));
}

/** Import the lines of a member file into `list`, which must exist (ListUnknownError before anything is read). */
export async function importMembers(store: Store, list: string, lines: AsyncIterable<string> | Iterable<string>, options: ImportOptions = {}): Promise<ImportResult> {
  const { address } = await store.getList(list);
  const role = options.role ?? 'member';
  const batchSize = options.batchSize ?? 5000;
  const dryRun = options.dryRun === true;
  const known = dryRun ? await existingKeys(store, address, role) : undefined;
  const result: ImportResult = { list: address, lines: 0, rows: 0, added: 0, existing: 0, errors: 0, invalid: [], dryRun };
  let columns = LEGACY_COLUMNS;
  let batch: NewMember[] = [];
  let pending = 0;
  const report = async (): Promise<void> => {
    const progress: ImportProgress = { lines: result.lines, processed: result.rows, total: options.total, added: result.added, existing: result.existing, errors: result.errors };
    await options.onProgress?.(result.lines, progress);
  };
  const flush = async (): Promise<void> => {
    if (known !== undefined) {
      for (const member of batch) {
        const key = parseAddress(member.address).key;
        if (known.has(key)) result.existing++;
        else {
          known.add(key);
          result.added++;
        }
      }
    } else if (batch.length > 0) {
      const { added, existing } = await store.addMembers(address, batch);
      result.added += added;
      result.existing += existing;
    }
    batch = [];
    pending = 0;
    await report();
  };
  for await (const line of lines) {
    result.lines++;
    if (result.lines === 1 && isHeaderLine(line)) {
      columns = parseHeader(line);
      await report();
      continue;
    }
    const parsed = parseMemberLine(line, result.lines, columns);
    if (parsed.skip) continue;
    result.rows++;
    pending++;
    if ('problem' in parsed) {
      result.errors++;
      const bad: InvalidLine = { line: result.lines, text: clip(line), address: parsed.address, code: parsed.code, reason: parsed.problem };
      if (options.onInvalid === undefined) result.invalid.push(bad);
      else await options.onInvalid(bad);
    } else {
      batch.push({ ...parsed.member, role });
    }
    if (pending >= batchSize) await flush();
  }
  await flush();
  return result;
}

/** A member as one line of a member file: CSV (address, name) or the bare address. */
export function formatMemberLine(member: Pick<Member, 'address' | 'displayName'>, format: 'csv' | 'lines'): string {
  if (format === 'lines') return member.address;
  return formatCsvRecord(member.displayName === '' ? [member.address] : [member.address, member.displayName]);
}
