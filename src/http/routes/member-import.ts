/**
 * `POST /api/v1/lists/:list/members/import`: a member file (text/csv, up to
 * `http.importBodyLimit`) imported through the same application function as
 * `switchyard members import` (src/app/membership.ts importMembers), the
 * answer streamed as NDJSON while it runs:
 *
 *   {"type":"progress","processed":1000,"total":5000,"added":990,"skipped":5,"errors":5}
 *   {"type":"error","line":17,"address":"bob@","code":"SY_ADDRESS_INVALID","reason":"..."}
 *   {"type":"done","processed":5000,"total":5000,"added":4950,"skipped":25,"errors":25,"lines":5001,"dryRun":false}
 *
 * A progress line after the header and after every 1000 rows (one
 * transaction each); an error line per invalid row, which never stops the
 * import; `done` last. What fails before the first line (no such list, a
 * header naming an unknown column) is an ordinary JSON error with its
 * status; what fails after (the store) is a last line
 * `{"type":"failed","code":...,"message":...}`. A client that goes away does
 * not stop the import: it runs to its end (importing again adds nothing).
 * The web admin's import form streams the same lines (admin/member-import-page.ts).
 */
import { PassThrough, type Readable } from 'node:stream';
import { z } from 'zod';
import { countMemberRows, importMembers, type ImportProgress, type InvalidLine } from '../../app/membership.js';
import type { AppContext } from '../../app/context.js';
import { ROLES, type Role } from '../../store/index.js';
import { errorBody } from '../errors.js';
import { route, type RouteSpec } from '../route.js';
import { listParams } from '../schemas.js';
import type { ApiDeps } from './deps.js';

/** `http.importBodyLimit`'s default: 64 MiB. */
export const DEFAULT_IMPORT_BODY_LIMIT = 64 * 1024 * 1024;
/** Rows per transaction, and so per progress line. */
export const IMPORT_PROGRESS_ROWS = 1000;
export const NDJSON = 'application/x-ndjson';

const counts = { processed: z.number().int(), total: z.number().int(), added: z.number().int(), skipped: z.number().int().describe('already members (or repeated in the file)'), errors: z.number().int() };

export const importEventSchema = z.union([
  z.object({ type: z.literal('progress'), ...counts }),
  z.object({ type: z.literal('error'), line: z.number().int(), address: z.string().nullable(), code: z.string().describe('SY_ADDRESS_INVALID, SY_CSV_SYNTAX or SY_MEMBER_IMPORT_FIELD'), reason: z.string() }),
  z.object({ type: z.literal('done'), ...counts, lines: z.number().int(), dryRun: z.boolean() }),
  z.object({ type: z.literal('failed'), code: z.string(), message: z.string() }),
]);
export type ImportEvent = z.output<typeof importEventSchema>;

const importQuery = z
  .object({
    role: z.enum(ROLES).default('member').describe('the role every address is given'),
    dryRun: z.enum(['true', 'false']).default('false').describe('true: validate and count what would be added, writing nothing'),
  })
  .strict();

const csvBody = z
  .string()
  .describe('a member file: a header line naming the columns (address required; name, delivery_mode, delivery_status), then one member per line; or, without a header, address[,name] per line');

/** The lines of a body (a final line ending does not make an empty last line). */
export function bodyLines(text: string): string[] {
  const lines = text.split(/\r?\n/);
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

function progressEvent(progress: ImportProgress, total: number): ImportEvent {
  return { type: 'progress', processed: progress.processed, total, added: progress.added, skipped: progress.existing, errors: progress.errors };
}

function errorEvent(bad: InvalidLine): ImportEvent {
  return { type: 'error', line: bad.line, address: bad.address, code: bad.code, reason: bad.reason };
}

/** Resolves when `out` can take more, or is gone (a client that left must not hold the import up). */
function writable(out: PassThrough): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      out.off('drain', done).off('close', done);
      resolve();
    };
    out.on('drain', done).on('close', done);
  });
}

export interface ImportStreamOptions {
  role: Role;
  dryRun: boolean;
  /** Each event as written (the web admin's summary page collects them). */
  onEvent?: (event: ImportEvent) => void;
}

/**
 * Runs the import of `text` into `list`, its events as NDJSON lines on the
 * stream returned. Rejects (nothing written) when the import fails before
 * its first event: no such list, a header naming an unknown column.
 */
export async function memberImportStream(app: AppContext, list: string, text: string, options: ImportStreamOptions): Promise<Readable> {
  const lines = bodyLines(text);
  const total = countMemberRows(lines);
  const out = new PassThrough();
  let started = false;
  let begin!: () => void;
  let refuse!: (error: unknown) => void;
  const first = new Promise<void>((resolve, reject) => {
    begin = resolve;
    refuse = reject;
  });
  const write = async (event: ImportEvent): Promise<void> => {
    started = true;
    begin();
    options.onEvent?.(event);
    if (out.destroyed || out.writableEnded) return;
    if (!out.write(`${JSON.stringify(event)}\n`)) await writable(out);
  };
  importMembers(app, list, async () => lines, {
    role: options.role,
    dryRun: options.dryRun,
    batchSize: IMPORT_PROGRESS_ROWS,
    total,
    onProgress: (_lines, progress) => write(progressEvent(progress, total)),
    onInvalid: (bad) => write(errorEvent(bad)),
  }).then(
    async (result) => {
      await write({ type: 'done', processed: result.rows, total, added: result.added, skipped: result.existing, errors: result.errors, lines: result.lines, dryRun: result.dryRun });
      out.end();
    },
    async (error: unknown) => {
      if (!started) return refuse(error);
      app.log?.error({ err: error, list }, `member import into ${list} failed: ${error instanceof Error ? error.message : String(error)}`);
      const { code, message } = errorBody(error).error;
      await write({ type: 'failed', code, message });
      out.end();
    },
  );
  await first;
  return out;
}

export function memberImportRoutes(deps: ApiDeps): RouteSpec[] {
  return [
    route({
      method: 'POST',
      url: '/api/v1/lists/:list/members/import',
      summary: 'import a member file (CSV), as `members import`; the answer streams NDJSON progress, error and done lines while it runs',
      tag: 'members',
      access: 'owner',
      params: listParams,
      query: importQuery,
      body: csvBody,
      bodyType: 'text/csv',
      bodyLimit: deps.importBodyLimit ?? DEFAULT_IMPORT_BODY_LIMIT,
      response: { status: 200, type: NDJSON, description: 'one JSON object per line: progress (every 1000 rows), error (per invalid row), then done (or failed)', schema: importEventSchema },
      handler: async ({ params, query, body, reply }) => {
        const stream = await memberImportStream(deps.app, params.list, body, { role: query.role, dryRun: query.dryRun === 'true' });
        void reply.type(`${NDJSON}; charset=utf-8`).header('cache-control', 'no-store').header('x-content-type-options', 'nosniff');
        return stream;
      },
    }),
  ];
}
