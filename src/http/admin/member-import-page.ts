/**
 * The web admin's member import (owners): a form taking a member file
 * pasted into a text area, or, with JavaScript, chosen as a file.
 *
 *   GET  /admin/lists/LIST/members/import   the form
 *   POST /admin/lists/LIST/members/import   a form (no script): the import runs, then a summary page
 *                                           text/csv (the script): the NDJSON lines of the REST API's
 *                                           import (routes/member-import.ts) as it runs
 *   GET  /static/member-import.js           the script: sends the file, shows the lines in a <progress>
 *
 * The page's Content-Security-Policy allows our own script files and
 * nothing inline (web.ts allowOwnScripts). The script sends the CSRF token
 * in the X-CSRF-Token header (session.ts). Both ways call importMembers
 * (src/app/membership.ts), as `switchyard members import` does; the body
 * limit is `http.importBodyLimit`, and the session and role are checked
 * before the body is read.
 */
import type { FastifyInstance } from 'fastify';
import { importMembers, type InvalidLine } from '../../app/membership.js';
import { isSwitchyardError } from '../../errors.js';
import { ROLES, type Role } from '../../store/index.js';
import { html, type SafeHtml } from '../html/html.js';
import { mediaType } from '../route.js';
import type { ApiDeps } from '../routes/deps.js';
import { bodyLines, DEFAULT_IMPORT_BODY_LIMIT, memberImportStream, NDJSON } from '../routes/member-import.js';
import { allowOwnScripts } from '../web.js';
import { adminPage, csrfField } from './admin-layout.js';
import { field, listUrl, type AdminInput, type AdminRouteSpec } from './admin-route.js';
import { failureText } from './session.js';
import { MEMBER_IMPORT_SCRIPT } from './member-import-script.js';

export const MEMBER_IMPORT_SCRIPT_PATH = '/static/member-import.js';
/** Invalid rows listed on the summary page; the rest are counted. */
export const SUMMARY_ERROR_ROWS = 500;

function roleOf(text: string | undefined): Role {
  return (ROLES as readonly string[]).includes(text ?? '') ? (text as Role) : 'member';
}

function importForm(input: AdminInput, values: { csv: string; role: Role; dryRun: boolean }): SafeHtml {
  const list = input.list!;
  return html`<p class="muted">A CSV file whose first line names its columns: <code>address</code> (required), <code>name</code>, <code>delivery_mode</code> (regular, mime_digests, plain_digests, summary_digests) and <code>delivery_status</code> (enabled, by_user, by_owner). Without that line, each line is an address and a name. Addresses already on the list are left as they are, so importing a file again adds nothing; bad rows are listed and skipped.</p>
<form method="post" action="${listUrl(list.address, 'members/import')}" class="card" id="member-import">
${csrfField(input.csrf)}
<div id="import-file-field" hidden><label for="import-file">CSV file <span class="hint">or paste the members below</span></label><input type="file" id="import-file" accept=".csv,.txt,text/csv,text/plain"></div>
<label for="import-csv">Members, as CSV</label>
<textarea id="import-csv" name="csv" rows="12" spellcheck="false" placeholder="address,name,delivery_mode&#10;anne@example.org,Anne Example,regular&#10;bob@example.org,,mime_digests">${values.csv}</textarea>
<label for="import-role">Role given to every address</label><select id="import-role" name="role">${ROLES.map((r) => html`<option value="${r}"${r === values.role ? html` selected` : ''}>${r}</option>`)}</select>
<p><input type="checkbox" id="import-dry-run" name="dryRun" value="true"${values.dryRun ? html` checked` : ''}> <label for="import-dry-run" class="inline-label">Dry run: check the file and count what would be added, change nothing</label></p>
<p class="hint">Added at once: no confirmation mail, no welcome (as <code>switchyard members import</code>).</p>
<p><button type="submit" id="import-submit">Import</button></p>
</form>
<section id="import-progress" hidden>
<h2>Progress</h2>
<progress id="import-bar" max="1" value="0">importing</progress>
<p id="import-status" role="status" aria-live="polite"></p>
<table id="import-errors" hidden><caption class="visually-hidden">Rows not imported</caption>
<thead><tr><th scope="col">Line</th><th scope="col">Address</th><th scope="col">Code</th><th scope="col">Reason</th></tr></thead><tbody></tbody></table>
</section>
<script src="${MEMBER_IMPORT_SCRIPT_PATH}"></script>`;
}

function summary(input: AdminInput, result: { added: number; existing: number; errors: number; rows: number; dryRun: boolean }, invalid: InvalidLine[]): SafeHtml {
  const list = input.list!;
  const more = result.errors - invalid.length;
  return html`<div class="stats">
<div class="stat"><div class="value">${String(result.rows)}</div>rows read</div>
<div class="stat"><div class="value">${String(result.added)}</div>${result.dryRun ? 'would be added' : 'added'}</div>
<div class="stat"><div class="value">${String(result.existing)}</div>already members</div>
<div class="stat"><div class="value">${String(result.errors)}</div>not imported</div>
</div>
${
  invalid.length === 0
    ? ''
    : html`<h2>Rows not imported</h2><table><caption class="visually-hidden">Rows not imported</caption>
<thead><tr><th scope="col">Line</th><th scope="col">Address</th><th scope="col">Code</th><th scope="col">Reason</th></tr></thead>
<tbody>${invalid.map((bad) => html`<tr><td>${String(bad.line)}</td><td>${bad.address ?? ''}</td><td><code>${bad.code}</code></td><td>${bad.reason}</td></tr>`)}</tbody></table>
${more > 0 ? html`<p class="muted">and ${String(more)} more.</p>` : ''}`
}
<p class="buttons"><a class="button" href="${listUrl(list.address, 'members')}">Members</a> <a class="button secondary" href="${listUrl(list.address, 'members/import')}">Import more</a></p>`;
}

export function memberImportPages(deps: ApiDeps): AdminRouteSpec[] {
  const app = deps.app;
  return [
    {
      method: 'GET',
      url: '/admin/lists/:list/members/import',
      access: 'owner',
      handler: async (input) => {
        allowOwnScripts(input.reply);
        return adminPage(input, { title: 'Import members', content: importForm(input, { csv: '', role: 'member', dryRun: false }), tab: 'members' });
      },
    },
    {
      method: 'POST',
      url: '/admin/lists/:list/members/import',
      access: 'owner',
      bodyLimit: deps.importBodyLimit ?? DEFAULT_IMPORT_BODY_LIMIT,
      bodyTypes: ['text/csv'],
      handler: async (input) => {
        const list = input.list!;
        if (mediaType(input.request) === 'text/csv') {
          // The page's script: the same NDJSON lines as the REST API.
          const text = typeof input.request.body === 'string' ? input.request.body : ''; // no body: nothing to import, a done line says so
          const stream = await memberImportStream(app, list.address, text, { role: roleOf(input.query.role), dryRun: input.query.dryRun === 'true' });
          void input.reply.type(`${NDJSON}; charset=utf-8`).header('cache-control', 'no-store').header('x-content-type-options', 'nosniff').send(stream);
          return;
        }
        const csv = field(input.body, 'csv');
        const role = roleOf(field(input.body, 'role'));
        const dryRun = field(input.body, 'dryRun') === 'true';
        const invalid: InvalidLine[] = [];
        try {
          const result = await importMembers(app, list.address, async () => bodyLines(csv), {
            role,
            dryRun,
            onInvalid: (bad) => void (invalid.length < SUMMARY_ERROR_ROWS && invalid.push(bad)),
          });
          const title = result.dryRun ? 'Import checked (dry run, nothing changed)' : 'Members imported';
          return adminPage(input, { title, content: summary(input, result, invalid), tab: 'members' });
        } catch (error) {
          // A header the import does not take: the form again, with what was pasted.
          if (!isSwitchyardError(error) || error.code !== 'SY_MEMBER_IMPORT_HEADER') throw error;
          allowOwnScripts(input.reply);
          input.reply.code(422);
          return adminPage({ ...input, flash: { kind: 'error', text: failureText(error) } }, { title: 'Import members', content: importForm(input, { csv, role, dryRun }), tab: 'members' });
        }
      },
    },
  ];
}

export function registerMemberImportScript(app: FastifyInstance): void {
  app.get(MEMBER_IMPORT_SCRIPT_PATH, async (_request, reply) => {
    void reply.type('text/javascript; charset=utf-8').header('cache-control', 'public, max-age=3600').header('x-content-type-options', 'nosniff');
    return MEMBER_IMPORT_SCRIPT;
  });
}
