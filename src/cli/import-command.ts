/**
 * `switchyard import ...`: move a site from GNU Mailman. `mailman3` reads
 * Mailman core's REST API (src/migrate/mailman3-rest.ts) and applies what it
 * read through src/app/site-import.ts; the report names, per list, what was
 * created or changed and every Mailman setting that has no switchyard
 * equivalent. It ends with the cut-over checklist.
 *
 * Files: writes only the list store (and, through the list events, the MTA
 * files). Idempotent: a second run changes nothing and says so.
 */
import { Command, Option } from 'commander';
import type { SiteImportReport } from '../app/site-import.js';
import type { ImportedSite } from '../migrate/site-model.js';
import { withApp } from './app-context.js';
import { CliError, EXIT_USAGE } from './exit-codes.js';
import { listArgument, printJson } from './lists-command.js';
import { createProgress } from './progress.js';

export function importCommand(): Command {
  return new Command('import')
    .description('import lists, members, settings, held posts, requests and archives from GNU Mailman')
    .addCommand(mailman3Command())
    .addCommand(mailman2Command())
    .addCommand(archiveCommand())
    .addHelpText('after', `
Examples:
  switchyard import mailman3 --rest http://127.0.0.1:8001/3.1 --user restadmin --password SECRET --dry-run
  switchyard import mailman3 --rest http://127.0.0.1:8001/3.1 --user restadmin --password SECRET --list dev@lists.example.org
  switchyard import mailman3 --database sqlite:/var/lib/mailman3/data/mailman.db
  switchyard import mailman3 --database postgres://mailman@db.example.org/mailman --messages-dir /var/lib/mailman3/messages   # read in one read-only transaction
  switchyard import mailman2 --list-dir ./dev     # config.txt (config_list -o) and list_members files, or config.pck
  switchyard import archive --list dev@lists.example.org dev.mbox

Running an import again changes nothing that is already there; --dry-run says
what would change and writes nothing. See the README, "Switching from Mailman".`);
}

interface Mailman3Options {
  rest?: string;
  database?: string;
  user?: string;
  password?: string;
  list?: string;
  messagesDir?: string;
  dryRun?: boolean;
  json?: boolean;
}

function mailman3Command(): Command {
  return new Command('mailman3')
    .description("import every list (or one) of a Mailman 3 site through Mailman core's REST API")
    .option('--rest <url>', "Mailman core's REST API root, e.g. http://127.0.0.1:8001/3.1")
    .option('--database <url>', "instead of --rest: Mailman core's own database, read-only, when the core no longer runs: sqlite:/var/lib/mailman3/data/mailman.db or postgres://user@host/mailman")
    .option('--user <name>', '[webservice] admin_user of mailman.cfg')
    .option('--password <secret>', '[webservice] admin_pass of mailman.cfg (or $MAILMAN_REST_PASSWORD)')
    .option('--list <list>', 'only this list (posting address or list id)')
    .option('--messages-dir <dir>', "Mailman core's message store (its var/messages directory), where held posts' exact bytes are; default with an SQLite --database: the messages/ next to its data/ directory")
    .option('--dry-run', 'say what would change; write nothing')
    .option('--json', 'print JSON')
    .addHelpText('after', `
Imported per list: the settings switchyard has (the others are listed in the
report with their values), owners, moderators, members with their delivery
mode and status, bounce score and preferences, non-members with an action,
bans, held posts and pending subscription requests (with their tokens, so
confirmations Mailman mailed still work).

Held posts' bytes are in Mailman's message store (pickled Python objects,
read as data only: nothing in them is run; anything but a plain message is
refused with SY_IMPORT_UNSAFE and named in the report). With --database they
are read from it (give --messages-dir for a PostgreSQL database, or held
posts are only counted); with --rest the API gives their text only, which
may not be byte-exact (the report says so) unless --messages-dir is given.

Exit codes: 0 ok, 1 error (Mailman unreachable, refused credentials; or some
records were refused: the report names them, the rest was imported), 2 bad arguments.`)
    .action(async (options: Mailman3Options, command: Command) => {
      const password = options.password ?? process.env.MAILMAN_REST_PASSWORD;
      const reading = createProgress('reading Mailman');
      const onProgress = (done: number, total: number): void => reading.update(done, total);
      const only = { ...(options.list === undefined ? {} : { list: options.list }), ...(options.messagesDir === undefined ? {} : { messagesDir: options.messagesDir }) };
      let site: ImportedSite;
      if (options.database !== undefined) {
        if (options.rest !== undefined) throw new CliError('give either --rest or --database, not both', EXIT_USAGE, { code: 'SY_USAGE' });
        const { readMailman3Database } = await import('../migrate/mailman3-database.js');
        site = await readMailman3Database({ url: options.database, ...only, onProgress });
      } else {
        if (options.rest === undefined || options.user === undefined || password === undefined) {
          throw new CliError('give --rest URL, --user NAME and --password SECRET (or $MAILMAN_REST_PASSWORD), or --database sqlite:PATH or postgres://...', EXIT_USAGE, { code: 'SY_USAGE' });
        }
        const { readMailman3Rest } = await import('../migrate/mailman3-rest.js');
        site = await readMailman3Rest({ url: options.rest, user: options.user, password, ...only, onProgress });
      }
      reading.end();
      await applySite(site, options, command);
    });
}

async function applySite(site: ImportedSite, options: { dryRun?: boolean; json?: boolean }, command: Command): Promise<void> {
      const { importSite } = await import('../app/site-import.js');
      const importing = createProgress('importing');
      const outcome = await withApp(command, async (app, { home, config }) => {
        // The MTA files are written once at the end, not per list created (100 lists: 100 rewrites and postmap runs).
        const { AppEvents } = await import('../app/events.js');
        const report = await importSite({ ...app, events: new AppEvents() }, site, { dryRun: options.dryRun === true, onProgress: (done, total) => importing.update(done, total) });
        importing.end();
        let mtaFiles: string[] = [];
        if (!report.dryRun) {
          const { regenerateMtaFiles } = await import('../mta/regenerate.js');
          mtaFiles = (await regenerateMtaFiles(home, config, app.store)).files;
        }
        return { report, mtaFiles, home };
      });
      printReport(outcome.report, outcome.mtaFiles, outcome.home, options.json === true);
      if (outcome.report.lists.some((list) => list.problems.length > 0)) process.exitCode = 1;
}

function mailman2Command(): Command {
  return new Command('mailman2')
    .description('import one Mailman 2.1 list from a directory of its config_list -o and list_members output (or its config.pck)')
    .requiredOption('--list-dir <dir>', 'the directory (see below)')
    .option('--dry-run', 'say what would change; write nothing')
    .option('--json', 'print JSON')
    .addHelpText('after', `
The directory holds, made with Mailman 2.1's own commands:
  config.txt           config_list -o config.txt NAME      (or config.pck, from lists/NAME/)
  members-regular.txt  list_members -f -r NAME
  members-digest.txt   list_members -f -d NAME
  nomail-byuser.txt, nomail-byadmin.txt, nomail-bybounce.txt   list_members -f --nomail=byuser NAME (...)
  moderated.txt        list_members -f -m NAME
config.txt is read as Python literals and config.pck as plain pickled data:
neither is ever evaluated, and anything else in them (a call, a name, a
pickle opcode that builds objects) is refused with SY_IMPORT_UNSAFE.
The archive: \`switchyard import archive --list LIST archives/private/NAME.mbox/NAME.mbox\`.

Exit codes: 0 ok, 1 error (unreadable or refused files; some records refused), 2 bad arguments.`)
    .action(async (options: { listDir: string; dryRun?: boolean; json?: boolean }, command: Command) => {
      const { readMailman2List } = await import('../migrate/mailman2-list.js');
      const list = await readMailman2List(options.listDir);
      await applySite({ source: `Mailman 2.1 list directory ${options.listDir}`, lists: [list], siteUnmapped: [] }, options, command);
    });
}

interface ArchiveOptions {
  list: string;
  quoting: 'mboxo' | 'mboxrd';
  dryRun?: boolean;
  json?: boolean;
}

function archiveCommand(): Command {
  return new Command('archive')
    .description("import mbox files (HyperKitty's export, pipermail's .mbox) into a list's archive, keeping Message-IDs and dates")
    .requiredOption('--list <list>', 'the (imported) list whose archive it is', listArgument)
    .addOption(new Option('--quoting <kind>', 'how the file quotes body lines starting with "From ": mboxo (HyperKitty, pipermail) or mboxrd (`switchyard archive export`)').choices(['mboxo', 'mboxrd']).default('mboxo'))
    .option('--dry-run', 'say what would be added; write nothing')
    .option('--json', 'print JSON')
    .argument('<file...>', 'mbox files, in order')
    .addHelpText('after', `
The archive is kept in the store (one per site, whichever host archives), so
this may run while switchyard runs, on any host. Each file is read streaming
(one message in memory at a time). Messages already in the archive (same
Message-ID, else the same bytes) are skipped, so running it again adds
nothing. Each message's bytes are kept as the file has them (but for the
quoting), and its date is the From_ line's (else its Date field's).

Exit codes: 0 ok, 1 error (no such list, an unreadable file), 2 bad arguments or not an mbox file.`)
    .action(async (files: string[], options: ArchiveOptions, command: Command) => {
      const { importMbox } = await import('../app/archive.js');
      const results = await withApp(command, async (app) => {
        await app.store.getList(options.list);
        const done = [];
        for (const file of files) {
          const progress = createProgress(`archive ${file}`);
          done.push(await importMbox(app, options.list, file, { quoting: options.quoting, dryRun: options.dryRun === true, onProgress: (n, total) => progress.update(n, total) }));
          progress.end();
        }
        return done;
      });
      if (options.json) return printJson({ dryRun: options.dryRun === true, files: results });
      for (const result of results) {
        const torn = result.torn === 0 ? '' : `, ${result.torn} torn record${result.torn === 1 ? '' : 's'} skipped`;
        process.stdout.write(`${result.file}: ${result.read} messages, ${options.dryRun ? 'would add' : 'added'} ${result.added}, already archived ${result.existing}${torn} (archive of ${result.list} in the store)\n`);
      }
    });
}

/** What to do after the import, in order (Mailman's own commands named). */
export function cutOverChecklist(mtaFiles: readonly string[], home: string): string[] {
  return [
    `MTA files for the imported lists (rewritten by \`switchyard aliases\`): ${mtaFiles.length > 0 ? mtaFiles.join(', ') : `in ${home}`}`,
    "1. stop Mailman's runners: `mailman stop` (the REST API and its web UI go with them)",
    "2. let Mailman's queues drain: `mailman qfile` on what is left in its queue directory (in, out, pipeline, retry); `mailman unshunt` for what is worth re-running, then start and stop Mailman once more",
    '3. run this import again: it brings over what changed meanwhile and nothing twice',
    "4. switch the MTA maps: point transport_maps/relay_recipient_maps (Postfix) or the Exim router at switchyard's files above instead of Mailman's postfix_lmtp, then `postfix reload`",
    '5. start switchyard: `switchyard start`, then `switchyard status`',
  ];
}

function printReport(report: SiteImportReport, mtaFiles: string[], home: string, json: boolean): void {
  const checklist = cutOverChecklist(mtaFiles, home);
  if (json) return printJson({ ...report, mtaFiles, cutOver: checklist });
  const out: string[] = [`${report.dryRun ? 'dry run: would import' : 'imported'} from ${report.source}`];
  for (const list of report.lists) {
    out.push(
      '',
      `${list.list}: ${list.created ? 'created' : 'exists'}; settings changed: ${list.settingsChanged.length === 0 ? 'none' : list.settingsChanged.join(', ')}`,
      `  members added ${list.members.added}, updated ${list.members.updated}, unchanged ${list.members.unchanged}; non-member patterns added ${list.nonmemberPatternsAdded}; bans added ${list.bansAdded}`,
      `  held posts added ${list.held.added} (already held ${list.held.existing}); requests added ${list.requests.added} (already there ${list.requests.existing})`,
    );
    for (const problem of list.problems) out.push(`  REFUSED ${problem}`);
    if (list.unmapped.length > 0) {
      out.push(`  not imported (no switchyard equivalent, or only in part): ${list.unmapped.length}`);
      for (const item of list.unmapped) out.push(`    ${item.setting} = ${item.value.length > 60 ? `${item.value.slice(0, 57)}...` : item.value}: ${item.note}`);
    }
  }
  for (const item of report.siteUnmapped) out.push('', `site: ${item.setting} = ${item.value}: ${item.note}`);
  out.push('', report.unchanged ? 'nothing changed: the store already holds this import' : report.dryRun ? 'nothing was written (dry run)' : 'done', '', 'Cut-over:', ...checklist.map((line) => `  ${line}`));
  process.stdout.write(`${out.join('\n')}\n`);
}
