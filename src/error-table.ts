/**
 * Every error code switchyard reports, documented once: what it means for an
 * operator, whether it is temporary (retry later) or permanent, what the CLI
 * exits with when it ends a command, and what to do. The README's error
 * table is generated from this (errorReference(), `npm run docs`) and
 * test/errors/error-table.test.ts keeps the two equal; the same test finds
 * every `'SY_*'` literal in the source and fails on one missing here, so a
 * new code cannot go undocumented (fastify's lib/errors.js and its errors
 * reference page).
 *
 * `temporary` and `exitCode` say what the class throwing the code sets; the
 * classes set them themselves (queues/ cannot import this table), and
 * test/errors/errors.test.ts checks them against it.
 */
import { EXIT_ERROR, EXIT_NOT_RUNNING, EXIT_USAGE } from './errors.js';

export interface ErrorDoc {
  /** What happened, in an operator's words; where it matters, what became of the mail. */
  readonly meaning: string;
  /** Retry later (true), give up on this request (false), or as a setting decides ('setting': the meaning says which). */
  readonly temporary: boolean | 'setting';
  /** The exit code of a command this error ends. */
  readonly exitCode: number;
  /** What to do; '' when the message says all. */
  readonly action: string;
}

const doc = (meaning: string, action = '', more: { temporary?: ErrorDoc['temporary']; exitCode?: number } = {}): ErrorDoc =>
  Object.freeze({ meaning, temporary: more.temporary ?? false, exitCode: more.exitCode ?? EXIT_ERROR, action });

export const ERROR_TABLE: Readonly<Record<string, ErrorDoc>> = Object.freeze({
  // The command line itself.
  SY_USAGE: doc('the command line is not understood (an unknown option, a missing argument); the usage follows', 'add `--help`', { exitCode: EXIT_USAGE }),
  SY_COMMAND_FAILED: doc('a command refused or could not finish what it was asked; the message says why', ''),
  SY_INTERNAL: doc('an error switchyard has no code for (a bug, or a system error it did not expect); the message is the original one', 'run again with `SWITCHYARD_DEBUG=1` for the stack, and report it'),
  SY_CONFIG: doc('`switchyard.toml` is invalid; the message names file, key and problem', 'fix the key; `switchyard config show` lists them all'),
  SY_DURATION: doc('a duration could not be read', 'write it as `30s`, `15m`, `7d`, ...'),
  SY_HOME_MISSING: doc(
    'no home directory where the command looked (`--home`, `SWITCHYARD_HOME`, `./var`, `/var/lib/switchyard`); only `start` creates `./var`; `inject` exits 75',
    'pass `--home` or set `SWITCHYARD_HOME`; or create it (owned by the switchyard user)',
  ),
  SY_HOME_ACCESS: doc(
    'permission denied on a file of the home; the message names the file, the home\'s owner and the user the command ran as (`inject`: exit 75)',
    'run the command as the home\'s owner (`sudo -u switchyard ...`), or fix the file\'s owner or mode',
  ),
  SY_REGISTRY_UNKNOWN: doc('a setting or command names a rule, chain, handler, detector or command that does not exist; the message lists the valid names', 'use one of the names listed'),
  SY_REGISTRY_DUPLICATE: doc('two modules registered the same name (a programming error, found at load time)', 'rename one of them'),
  // The master.
  SY_MASTER_RUNNING: doc('a live master holds `master.lock`', '`switchyard stop` first'),
  SY_MASTER_FOREIGN_LOCK: doc('`master.lock` names another host', 'if that master is really gone, `start --force`'),
  SY_MASTER_LOCK_BUSY: doc('the lock kept changing while being taken (masters starting at once)', 'start again'),
  SY_MASTER_NOT_RUNNING: doc('no master answers for this home', '`switchyard start`', { exitCode: EXIT_NOT_RUNNING }),
  SY_MASTER_ACCESS: doc(
    'this user may not reach `<home>/master.sock` (EACCES); the message names the user, and the owner and mode of the home and socket',
    'run the command as the named user (or a member of the group)',
  ),
  SY_MASTER_ANSWER: doc('the master\'s socket gave no usable answer in time', 'look at `logs/master.log`'),
  SY_SOCKET_PATH: doc('`<home>/master.sock` would exceed the 107-byte limit of unix socket paths', 'use a shorter home directory'),
  SY_START_FAILED: doc(
    'a runner died before it was ready, or one still starting reported no progress for `master.startTimeout`',
    'the message has the runner\'s last stderr lines, or what each runner was still doing',
  ),
  SY_RUNNER_SETUP: doc('a runner\'s module or options are unusable', 'fix `[runner.NAME]`'),
  // The queues.
  SY_QUEUE_NAME: doc('a queue name is not 1-32 of a-z, 0-9, `-`, `_`'),
  SY_QUEUE_UNKNOWN: doc('no such queue in this spool', '`switchyard queue count` lists them'),
  SY_QUEUE_ENTRY_ID: doc('not an entry id (`<seconds>.<micros>+<40 hex>`)'),
  SY_QUEUE_ENTRY_MISSING: doc('the entry is not in the queue and state it was looked for in (finished, moved, or taken by a runner)', '`switchyard queue list`'),
  SY_QUEUE_ENTRY_UNKNOWN: doc('no entry with that id in any queue of this spool', '`switchyard queue list`; check `--home`'),
  SY_QUEUE_ENTRY_BUSY: doc('the entry is being processed (`.bak`)', 'wait, or stop its runner'),
  SY_QUEUE_NOT_REQUEUEABLE: doc('the entry is corrupt, or records no original queue; it stays where it is', '`queue show --raw`, `queue move`'),
  SY_QUEUE_REQUEUE_SOURCE: doc('entries are requeued only from `bad`, `shunt` and `retry`, not from the queue named', '`queue move ID QUEUE` takes one entry anywhere'),
  SY_QUEUE_CORRUPT: doc('a queue file could not be decoded; it is now in `bad` with the reason (and stays there: it is not mail)', '`queue show --raw ID`'),
  SY_QUEUE_FORMAT: doc('the decoder\'s reason behind `SY_QUEUE_CORRUPT`'),
  SY_QUEUE_UNREADABLE: doc(
    'a queue file could not be read at all (a directory, a FIFO, a link, no permission, EIO); it is set aside in `bad` with the reason, or left in place when even that failed',
    '`queue show ID`; fix the file (`chown` to the switchyard user), then `queue requeue ID`',
  ),
  SY_QUEUE_FILE_UNREADABLE: doc('the reason behind `SY_QUEUE_UNREADABLE`: what was found at the entry\'s name'),
  SY_QUEUE_OPTIONS: doc('bad slice numbers or restore limit in code using `switchyard/queues`'),
  // The runners.
  SY_TEMPFAIL: doc('a runner\'s temporary failure: the entry went to `retry`', 'nothing; it is retried on schedule', { temporary: true }),
  SY_TASK_TIMEOUT: doc('a worker-pool task ran past its limit; the entry went to `shunt`', '`pool.taskTimeout`, then `queue requeue`'),
  SY_TASK_CRASHED: doc('a worker-pool task crashed its thread; the entry went to `shunt`', 'the shunt entry records the error'),
  SY_MALFORMED_ENTRY: doc('an `in` or `virgin` entry\'s metadata has a field of the wrong type; the entry went to `shunt`', 'the message names the field'),
  SY_NO_RECIPIENTS: doc('a `virgin` entry had no valid address to deliver to (a list without owners or moderators is not this: its notices go to `[site] owner`); the entry went to `shunt`', 'fix the addresses, then `queue requeue`'),
  SY_PIPELINE_UNKNOWN_HANDLER: doc('a list\'s `postingPipeline` names a handler that does not exist; the entry went to `shunt` unchanged', 'fix the setting (`lists set`), then `queue requeue`'),
  SY_CHAIN_UNKNOWN: doc('a list\'s stored `postingChain` names a chain that is not registered; the entry went to `shunt` unchanged', '`lists set LIST postingChain default`, then `queue requeue`'),
  SY_BOUNCE_ENTRY: doc('a `bounces` entry without a `listId`, or an outgoing bounce event with a field of the wrong type; the entry went to `shunt`', 'the message names the field'),
  // Importing from GNU Mailman (src/migrate/).
  SY_IMPORT_SOURCE: doc("Mailman's REST API, database or files could not be read, or refused the credentials; nothing more was imported (what was imported before stays; running again finishes it)", 'check the URL, the [webservice] credentials of mailman.cfg, or the path; the message says which'),
  SY_IMPORT_UNSAFE: doc("a Mailman 2.1 file holds something that is not plain data (a call or name in `config_list` output, a pickle opcode that builds objects), or a Mailman 3 stored message (a held post's pickle) holds more than a message (another class, a call): refused, never evaluated; nothing of that list, or only that held post, was imported", 'regenerate the file with `config_list -o` from Mailman itself, or look at what was put in it; decide such a held post in Mailman before the cut-over'),
  SY_IMPORT_USAGE: doc("the import's arguments do not fit together (a database URL of a kind not supported, an archive file that is not an mbox)", 'see `switchyard import --help`', { exitCode: EXIT_USAGE }),
  SY_ARCHIVE_ENTRY: doc('an `archive` entry without a valid `listId`; the entry went to `shunt`', 'the producer (the to-archive handler); `queue show`'),
  SY_OUT_MALFORMED: doc(
    'an `out` entry\'s metadata is not `{ listId, sender, recipients, verp?, listPosting?, personalize? }` (personalize needs verp); the entry went to `shunt`',
    'the producer (incoming runner)',
  ),
  SY_SMTP_MESSAGE_REJECTED: doc(
    'the smarthost answered 5xx to MAIL FROM or DATA; the entry went to `shunt` with the recipients not yet done, no bounce events',
    'the reply in the shunt entry; then `queue requeue`',
  ),
  SY_HEADER_VALUE: doc(
    'a value meant for a mail header field holds CR, LF or NUL (header injection); the entry went to `shunt`',
    'the message names the field; fix what wrote it, then `queue requeue`',
  ),
  SY_HEADER_INJECTION: doc(
    'an `out` entry\'s header block holds a bare CR or LF that the SMTP hand-off would turn into a new header line; the entry went to `shunt`, nothing was sent',
    'the path that wrote it (incoming and virgin repair them on the way in); `queue show --raw`',
  ),
  // DKIM signing.
  SY_DKIM_KEY: doc(
    'a DKIM key file of `[dkim.domains]` is missing, unreadable, not a PEM private key, an RSA key under 2048 bits, or a second key of the same type: the outgoing runner does not start (`start` fails; after `restart` the runner is `failed` in `status`), so nothing goes out unsigned',
    'fix `keys` or the file (owner, mode 0600), or make one with `switchyard dkim keygen`; then `switchyard restart`',
  ),
  SY_DKIM_SIGN: doc('a copy could not be DKIM-signed; the entry went to `retry` with the recipients not yet done, nothing unsigned was sent', 'the log says why; it is retried on schedule', { temporary: true }),
  SY_DKIM_RECORD: doc('`switchyard dkim check`: the DNS key record is missing, unreadable, or does not match the configured key (exit 1); the message says which', 'publish the record `switchyard dkim keygen` printed (or `dkim check --json` shows the expected one), and wait for the DNS to update'),
  // Ingress (LMTP and inject).
  SY_RECIPIENT_UNKNOWN: doc('a message for an address that is no list\'s: LMTP answers 550 5.1.1, inject exits 67', 'the sender\'s mistake; or create the list'),
  SY_MESSAGE_EMPTY: doc('an empty message: LMTP answers 554, inject exits 65'),
  SY_MESSAGE_TOO_LARGE: doc(
    'a message larger than `ingress.maxMessageSize`: permanent with `ingress.onOversize = "reject"` (LMTP 552, inject exit 69), temporary with "defer" (LMTP 452, inject exit 75)',
    'raise `ingress.maxMessageSize` if such mail is wanted',
    { temporary: 'setting' },
  ),
  // The list store.
  SY_LIST_UNKNOWN: doc(
    'no list with that posting address; a queue entry that names none, or a list that no longer exists, went to `shunt`',
    '`switchyard lists list`; create the list (or fix the entry), then `queue requeue`',
  ),
  SY_LIST_EXISTS: doc('a list with that posting address exists already'),
  SY_LIST_NAME_INVALID: doc('not a usable list address: `NAME@DOMAIN`, NAME 1-64 of a-z, 0-9, `.`, `_`, `-`, not ending in `-request`, `-bounces`, ...', '', { exitCode: EXIT_USAGE }),
  SY_LIST_SETTING: doc('no such list setting, or a value it does not take (a non-member pattern that is no address, an invalid or catastrophic `^regex`); the message names the key', '`switchyard lists show LIST` lists them', { exitCode: EXIT_USAGE }),
  SY_HEADER_SETTING: doc(
    'a list value that goes into mail headers holds CR, LF, NUL or another control character, or a `replyToAddress` that is not exactly one address (`address` or `Name <address>`): `lists create`/`lists set` refuse it, nothing is stored',
    'set a one-line value',
  ),
  SY_MEMBER_NAME_INVALID: doc(
    "a member's, owner's, moderator's or subscriber's display name holds CR, LF, NUL or another control character (it goes into mail headers): `members add`, the API, the web subscribe form refuse it (the API answers 422), nothing is stored",
    'give a one-line name',
    { exitCode: EXIT_USAGE },
  ),
  SY_ADDRESS_INVALID: doc('not a valid email address; the message says which rule it breaks', '', { exitCode: EXIT_USAGE }),
  SY_CSV_SYNTAX: doc('a line of a member file is not CSV (an unterminated quote, a stray quote); `members import` reports the line and skips it', 'fix the line, import again'),
  SY_MEMBER_IMPORT_HEADER: doc("a member file's header line names a column the import does not know, names one twice, or has no address column; nothing was imported (the API answers 422)", 'name the columns address, name, delivery_mode, delivery_status', { exitCode: EXIT_USAGE }),
  SY_MEMBER_IMPORT_FIELD: doc('a row of a member file has more fields than its header names, a control character in the name, or a delivery_mode or delivery_status the import does not take (by_bounces is for bounce processing); the row is skipped, the import goes on', 'fix the row, import again (rows imported already are counted as members)'),
  SY_MEMBER_EXISTS: doc('the address already has that role on the list'),
  SY_MEMBER_UNKNOWN: doc('the address does not have that role on the list', '`switchyard members list LIST`'),
  SY_MEMBER_PREFERENCE: doc('no such member preference, or a value it does not take (`members set`, the `set` email command); the message lists the keys or values', '`switchyard members set --help`', { exitCode: EXIT_USAGE }),
  SY_MEMBER_PREFERENCE_REFUSED: doc('a member asked by mail to turn delivery back on after the owner or bounces disabled it (or to set a status only an owner sets)', '`switchyard members enable LIST ADDRESS` if the owner agrees'),
  SY_DIGEST_ISSUE_UNKNOWN: doc('a digest issue being sent is gone: its list was removed meanwhile; nothing is sent'),
  SY_HELD_UNKNOWN: doc('no held message with that id (already approved, rejected or discarded)'),
  SY_REQUEST_UNKNOWN: doc('no pending membership request with that id on that list (confirmed, decided, discarded or lapsed)', '`switchyard requests list LIST`'),
  SY_REQUEST_NOT_FOR_OWNERS: doc('`requests approve`/`reject` on a request that waits for the address\'s confirmation, not for the owners', '`requests discard` removes it'),
  SY_HELD_UNREADABLE: doc('a held message is kept by a queue reference this switchyard cannot read', 'decide it with the switchyard that held it, or `held discard`'),
  SY_HELD_INVALID: doc('code holding a message gave neither or both of a queue reference and the raw bytes'),
  SY_STORE_BUSY: doc(
    'SQLite: another process held `switchyard.db` longer than `store.busyTimeout`; PostgreSQL: a transaction conflict (40001, 40P01) retried for `store.busyTimeout` without settling, or the server unreachable, restarting or shutting down: ingress answers 4xx / exits 75, runners send entries to `retry`',
    'run the command again; look for a long-running import; for PostgreSQL, check that the server is up',
    { temporary: true },
  ),
  SY_STORE_SCHEMA: doc('the list store was written by a newer switchyard', 'upgrade switchyard'),
  SY_STORE_MIGRATE: doc(
    'the PostgreSQL store\'s schema is older than this switchyard (or empty): `start` refuses, ingress answers 4xx / exits 75, runners send entries to `retry`',
    'run `switchyard store migrate` (once, from any host)',
    { temporary: true },
  ),
  SY_STORE_CLOSED: doc('a call reached the list store after it was closed (a process shutting down)', ''),
  SY_STORE_URL: doc('`[store] url` (or `store copy --from/--to`) is neither `postgres://...` nor `sqlite:PATH`', '', { exitCode: EXIT_USAGE }),
  SY_STORE_COPY_TARGET: doc('`store copy` found rows in the target store; nothing was copied', 'copy into an empty database, or pass `--force` to replace what it holds'),
  SY_STORE_COPY_MISMATCH: doc('`store copy` counted different numbers of rows in the target than in the source after copying; the message names the tables', 'look for another writer on either store; copy again into an empty target'),
  SY_STORE_CORRUPT: doc(
    'SQLite finds `switchyard.db` damaged (`SQLITE_CORRUPT`) or not a database (`SQLITE_NOTADB`): LMTP answers 451, inject exits 75, runners send entries to `retry`; logged at error level and shown in `status`',
    'recover the file or restore a backup: "Recovering a damaged list store" below',
    { temporary: true },
  ),
  // MTA files.
  SY_MTA_FILES_STALE: doc(
    'a list was created or removed but the MTA files could not be rewritten (the message says why, e.g. postmap failed); the CLI warns and exits 1, the list change stands',
    'fix the cause, then `switchyard aliases`',
  ),
  SY_POSTMAP: doc('`mta.postmapCommand` failed on a written map; the message has its output', 'fix the map type or the command, then `switchyard aliases`'),
  // The HTTP service (answers carry the code in `{"error": {"code": ...}}`; the HTTP status in parentheses).
  SY_API_UNAUTHORIZED: doc('(401) a route that needs an API token got none, or one that is not valid (revoked, mistyped)', 'send `Authorization: Bearer <token>`; `switchyard tokens list`'),
  SY_API_FORBIDDEN: doc("(403) the token's role or list does not allow this route (a moderator's token on another list or on an owners' route)", 'use a token of the right list and role'),
  SY_API_NOT_FOUND: doc('(404) no such route', '`/api/openapi.json` lists them'),
  SY_API_BAD_REQUEST: doc('(400, 415) a request the HTTP layer could not read: a body that is not JSON, another content type than application/json (`text/csv` for the member import)', 'send JSON with `Content-Type: application/json` (a member file with `Content-Type: text/csv`)'),
  SY_API_INVALID: doc('(422) a parameter, query or body value is not what the route takes; `problems` names each', 'fix the request (see `/api/openapi.json`)', { exitCode: EXIT_USAGE }),
  SY_API_STALE: doc("(409) a settings change with `If-Match` whose ETag is not the list's current one: someone changed the list since it was read; nothing was changed", 'read the list again (its new ETag) and reapply the change'),
  SY_API_TOO_LARGE: doc('(413) a request body over `http.bodyLimit` (a member import\'s over `http.importBodyLimit`)', 'send less, or raise the limit in `[http]`'),
  SY_API_RATE_LIMITED: doc('(429) more requests to the public routes from one address than `http.rateLimit` a minute', 'wait (`Retry-After`)', { temporary: true }),
  SY_API_TIMEOUT: doc('(408) a request not received whole within `http.requestTimeout`', '', { temporary: true }),
  SY_WEB_CSRF: doc('(403) a web admin form was sent without the CSRF token of this session (or of the login page): forged from another site, or the page is from an older session; nothing was done', 'reload the page and send the form again'),
  SY_ARCHIVE_NOT_FOUND: doc('(404) no such archive page: the list has no archive (or archive is off), or a part of the URL is not a list address, a month YYYY-MM or a message id of 32 hex digits', 'start from /archives/LIST/'),
  SY_SITE_SECRET: doc('`<home>/site-secret.json` (the key of one-click unsubscribe links, login links and session cookies) is unreadable or damaged', 'move it aside and restart: a new one is made; links already sent stop working'),
  SY_TOKEN_INVALID: doc('`tokens create`: a bad name, or a role and list that do not go together (admin: no list; owner, moderator: one list)', '', { exitCode: EXIT_USAGE }),
  SY_TOKEN_UNKNOWN: doc('no API token with that id (revoked already?)', '`switchyard tokens list`'),
  SY_WEB_LINK_INVALID: doc('(404) a link of a list mail (one-click unsubscribe, confirmation) that is damaged, for another list, used already, or older than the site secret\'s grace (`http.secretGrace`); nothing was changed', 'the member unsubscribes from a newer post\'s link, by mail to NAME-leave@DOMAIN, or asks again on the list\'s page'),
  SY_WEB_FORM_TOKEN: doc('(403) a public form (subscribe, unsubscribe, confirm) posted without the form token of a page this site served to the same browser (a forged cross-site POST, or cookies off); nothing was done', 'reload the page and send the form again; cookies must be allowed for this site'),
});

/** The entry for `code`, or undefined for a code the table does not know. */
export function errorDoc(code: string): ErrorDoc | undefined {
  return Object.hasOwn(ERROR_TABLE, code) ? ERROR_TABLE[code] : undefined;
}

function temporaryText(temporary: ErrorDoc['temporary']): string {
  return temporary === 'setting' ? 'by setting' : temporary ? 'yes' : 'no';
}

/** Table cells may not hold a raw `|`. */
function cell(text: string): string {
  return text.replaceAll('|', '\\|');
}

/** The Markdown table of every code for the README: code, meaning, temporary, exit code, what to do. */
export function errorReference(): string {
  const rows = Object.entries(ERROR_TABLE).map(
    ([code, entry]) => `| \`${code}\` | ${cell(entry.meaning)} | ${temporaryText(entry.temporary)} | ${entry.exitCode} | ${cell(entry.action)} |`,
  );
  return ['| Code | Meaning | Temporary | Exit | What to do |', '| --- | --- | --- | --- | --- |', ...rows].join('\n');
}
