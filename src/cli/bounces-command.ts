/**
 * `switchyard bounces LIST`: the list's members with a bounce history, their
 * score, last bounce and delivery state (Mailman shows the same in its
 * member options). `--all` shows every member; `--json` for scripts.
 * `--run-warnings` runs the warnings pass for this list now, as the master
 * does on `cron.bounceWarnings`: reminders go to the `virgin` queue of the
 * home, and members past their last reminder are removed. `switchyard
 * members enable LIST ADDRESS` re-enables a member. The use cases are
 * src/app/bounces.ts; this file parses and prints.
 *
 * Files: reads the list store; with --run-warnings also writes it and
 * enqueues notices in `<home>/queues/virgin` (see src/bounce/warnings.ts for
 * the crash windows).
 */
import { Command } from 'commander';
import { bounceScores, runBounceWarnings, type BounceRow } from '../app/bounces.js';
import type { WarningsPassResult } from '../bounce/warnings.js';
import { withApp } from './app-context.js';
import { listArgument, printable, printJson } from './lists-command.js';
import { formatTable, type Align } from './table.js';

/** The table's columns, in order: a new column is one more entry. */
const COLUMNS: readonly { header: string; align: Align; cell: (row: BounceRow) => string }[] = [
  { header: 'ADDRESS', align: 'left', cell: (row) => printable(row.address) },
  { header: 'SCORE', align: 'right', cell: (row) => String(row.score) },
  { header: 'LAST BOUNCE', align: 'left', cell: (row) => row.lastBounceAt ?? '-' },
  { header: 'LAST REASON', align: 'left', cell: (row) => row.lastReason ?? '-' },
  { header: 'STATE', align: 'left', cell: (row) => row.state },
];

export function bouncesCommand(): Command {
  return new Command('bounces')
    .description("a list's members with bounces (score, last bounce and reason, delivery state), destinations refusing the list, complaints")
    .argument('<list>', 'posting address', listArgument)
    .option('--all', 'every member, not only those with a bounce history or disabled')
    .option('--run-warnings', 'run the warnings pass for this list now (reminders, removals, stale scores), as the master does on cron.bounceWarnings')
    .option('--json', 'print JSON')
    .addHelpText('after', `
Scores: a permanent bounce adds 1.0, a temporary one 0.5, at most once a day;
a score with no bounce for bounceInfoStaleAfter days counts as 0. At
bounceScoreThreshold delivery is disabled; see \`switchyard lists show LIST\`
for the bounce settings. Re-enable with: switchyard members enable LIST ADDRESS

Destinations refusing the list (reasons blocked, spamdetected, policyviolation,
securityerror) are counted per domain, not against members: 24H is the last
24 hours, TOTAL since the first. Complaints (ARF feedback reports, SES
complaints) are listed with what the list's complaintAction did.

Exit codes: 0 ok, 1 error (e.g. no such list), 2 bad arguments.`)
    .action(async (listAddress: string, options: { all?: boolean; runWarnings?: boolean; json?: boolean }, command: Command) => {
      const { scores, pass } = await withApp(command, async (app) => {
        let pass: WarningsPassResult | undefined;
        if (options.runWarnings) pass = await runBounceWarnings(app, { lists: [listAddress] });
        return { scores: await bounceScores(app, listAddress, { all: options.all === true }), pass };
      });
      const { list, threshold, domains, recentRefusals, complaints, members: rows } = scores;
      const recent = (d: { domain: string; reason: string }): number => recentRefusals.find((r) => r.domain === d.domain && r.reason === d.reason)?.count ?? 0;
      if (options.json) {
        const domainRows = domains.map((d) => ({ domain: d.domain, reason: d.reason, count: d.count, last24h: recent(d), firstAt: d.firstAt.toISOString(), lastAt: d.lastAt.toISOString(), lastReply: d.lastReply }));
        const complaintRows = complaints.map((c) => ({ address: c.address, at: c.at.toISOString(), feedbackType: c.feedbackType, action: c.action, source: c.source }));
        printJson({ list: list.address, threshold, members: rows, domains: domainRows, complaints: complaintRows, ...(pass ? { warningsPass: pass } : {}) });
        return;
      }
      if (pass) process.stdout.write(`warnings pass: ${pass.warned.length} reminded, ${pass.removed.length} removed, ${pass.staleScoresReset} stale scores reset\n`);
      if (domains.length > 0) {
        // A provider refusing the list: not held against members, but the operator must act.
        process.stdout.write(`destinations refusing the list (not counted against members):\n`);
        process.stdout.write(
          formatTable(
            ['DOMAIN', 'REASON', '24H', 'TOTAL', 'LAST', 'LAST REPLY'],
            domains.map((d) => [printable(d.domain), d.reason, String(recent(d)), String(d.count), d.lastAt.toISOString(), printable(d.lastReply.slice(0, 60))]),
            ['left', 'left', 'right', 'right'],
          ),
        );
      }
      if (complaints.length > 0) {
        // Not bounces: the member told their provider the list's mail is spam (complaintAction says what was done).
        process.stdout.write(`complaints (not bounces; complaintAction ${list.settings.complaintAction}):\n`);
        process.stdout.write(formatTable(['ADDRESS', 'AT', 'TYPE', 'ACTION'], complaints.map((c) => [printable(c.address), c.at.toISOString(), printable(c.feedbackType), c.action]), ['left']));
      }
      if (rows.length === 0) {
        process.stdout.write(`${list.address}: no member has bounced\n`);
        return;
      }
      process.stdout.write(
        formatTable(
          COLUMNS.map((column) => column.header),
          rows.map((row) => COLUMNS.map((column) => column.cell(row))),
          COLUMNS.map((column) => column.align),
        ),
      );
    });
}
