/**
 * `switchyard bounces LIST`: the list's members with a bounce history, their
 * score, last bounce and delivery state (Mailman shows the same in its
 * member options). `--all` shows every member; `--json` for scripts.
 * `--run-warnings` runs the warnings pass (src/bounce/warnings.ts) for this
 * list now, as the master does on `cron.bounceWarnings`: reminders go to the
 * `virgin` queue of the home, and members past their last reminder are
 * removed. `switchyard members enable LIST ADDRESS` re-enables a member.
 *
 * Files: reads the list store; with --run-warnings also writes it and
 * enqueues notices in `<home>/queues/virgin` (see warnings.ts for the crash
 * windows).
 */
import { Command } from 'commander';
import { Switchboard } from '../../queues/index.js';
import { effectiveScore } from '../bounce/scoring.js';
import { runWarningsPass, type WarningsPassResult } from '../bounce/warnings.js';
import { homePaths } from '../home.js';
import type { MailingList, Member } from '../store/index.js';
import { listArgument, printable, printJson } from './lists-command.js';
import { withStore } from './store-access.js';
import { formatTable } from './table.js';

function state(member: Member, list: MailingList): string {
  switch (member.deliveryStatus) {
    case 'enabled':
      return 'enabled';
    case 'by_user':
      return 'disabled by member';
    case 'by_bounces':
      return `disabled by bounces (reminders ${member.bounceWarningsSent}/${list.settings.bounceYouAreDisabledWarnings})`;
  }
}

export function bouncesCommand(): Command {
  return new Command('bounces')
    .description("a list's members with bounces: score, last bounce, delivery state")
    .argument('<list>', 'posting address', listArgument)
    .option('--all', 'every member, not only those with a bounce history or disabled')
    .option('--run-warnings', 'run the warnings pass for this list now (reminders, removals, stale scores), as the master does on cron.bounceWarnings')
    .option('--json', 'print JSON')
    .addHelpText('after', `
Scores: by the bounce's reason (README "Bounce reasons"): a permanent one adds
1.0, a temporary one 0.5, at most once a day; blocked, spamdetected,
policyviolation and securityerror add nothing and are counted per domain;
a score with no bounce for bounceInfoStaleAfter days counts as 0. At
bounceScoreThreshold delivery is disabled; see \`switchyard lists show LIST\`
for the bounce settings. Re-enable with: switchyard members enable LIST ADDRESS

Exit codes: 0 ok, 1 error (e.g. no such list), 2 bad arguments.`)
    .action(async (listAddress: string, options: { all?: boolean; runWarnings?: boolean; json?: boolean }, command: Command) => {
      const { list, members, pass, reasons, domains } = await withStore(command, async (store, { home, config }) => {
        const list = await store.getList(listAddress);
        let pass: WarningsPassResult | undefined;
        if (options.runWarnings) {
          const virgin = new Switchboard({ root: homePaths(home).queues, name: 'virgin', durability: config.queues.durability });
          pass = await runWarningsPass({ store, now: Date.now, lists: [list.address], enqueue: async (notice) => void (await virgin.enqueue(notice.message, notice.metadata)) });
        }
        const all = await store.members(list.address, { role: 'member' });
        const reasons = await store.lastBounceReasons(list.address);
        const domains = await store.domainBounces(list.address);
        const shown = options.all ? all : all.filter((m) => m.bounceScore > 0 || m.lastBounceAt !== null || m.deliveryStatus !== 'enabled' || reasons.has(m.address.toLowerCase()));
        return { list, members: shown, pass, reasons, domains };
      });
      const now = new Date();
      const rows = members.map((member) => ({
        address: member.address,
        score: effectiveScore(member, now, list.settings.bounceInfoStaleAfter),
        lastBounceAt: member.lastBounceAt?.toISOString() ?? null,
        lastReason: reasons.get(member.address.toLowerCase()) ?? null,
        deliveryStatus: member.deliveryStatus,
        warningsSent: member.bounceWarningsSent,
        lastWarningAt: member.lastBounceWarningAt?.toISOString() ?? null,
        state: state(member, list),
      }));
      if (options.json) {
        const domainRows = domains.map((d) => ({ domain: d.domain, reason: d.reason, count: d.count, firstAt: d.firstAt.toISOString(), lastAt: d.lastAt.toISOString(), lastReply: d.lastReply }));
        printJson({ list: list.address, threshold: list.settings.bounceScoreThreshold, members: rows, domains: domainRows, ...(pass ? { warningsPass: pass } : {}) });
        return;
      }
      if (pass) process.stdout.write(`warnings pass: ${pass.warned.length} reminded, ${pass.removed.length} removed, ${pass.staleScoresReset} stale scores reset\n`);
      if (domains.length > 0) {
        // A provider refusing the list: not held against members, but the operator must act.
        process.stdout.write(`destinations refusing the list (not counted against members):\n`);
        process.stdout.write(formatTable(['DOMAIN', 'REASON', 'COUNT', 'LAST'], domains.map((d) => [printable(d.domain), d.reason, String(d.count), d.lastAt.toISOString()]), ['left', 'left', 'right']));
      }
      if (rows.length === 0) {
        process.stdout.write(`${list.address}: no member has bounced\n`);
        return;
      }
      process.stdout.write(
        formatTable(
          ['ADDRESS', 'SCORE', 'LAST BOUNCE', 'LAST REASON', 'STATE'],
          rows.map((row) => [printable(row.address), String(row.score), row.lastBounceAt ?? '-', row.lastReason ?? '-', row.state]),
          ['left', 'right'],
        ),
      );
    });
}
