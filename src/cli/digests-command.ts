/**
 * `switchyard digests ...`: `send LIST` composes and queues the list's digest
 * now (and first finishes one a killed sender left); `status` shows each
 * list's digest volume, next issue number, pending posts and size, and its
 * digest members. The sending and its crash windows are src/app/digests.ts;
 * this file parses and prints.
 *
 * Files: `<home>/digests/` (staged `out` entries), then `out` entries moved
 * in from there (one per digest format with members), and the list store.
 */
import { join } from 'node:path';
import { Command } from 'commander';
import { spoolDigestOutbox } from '../app/digest-outbox.js';
import { digestsStatus, sendDigest, type DigestListStatus, type SentIssue } from '../app/digests.js';
import { homePaths } from '../home.js';
import { withApp } from './app-context.js';
import { listArgument, printJson } from './lists-command.js';
import { formatTable } from './table.js';

export function digestsCommand(): Command {
  return new Command('digests')
    .description("members' digests: send a list's digest now, or show every list's digest status")
    .addCommand(sendCommand())
    .addCommand(statusCommand())
    .addHelpText('after', `
Examples:
  switchyard digests send dev@lists.example.org
  switchyard digests status --json

A list's digest is also sent by the scheduler when its waiting posts reach
digestSizeThreshold KB, and when its digestSendPeriodic cron expression fires.

Exit codes: 0 ok (also when nothing was waiting), 1 error (no such list), 2 bad arguments.`);
}

function sentJson(issue: SentIssue) {
  return { list: issue.list, volume: issue.volume, issue: issue.issue, posts: issue.posts, size: issue.size, formats: issue.formats, resumed: issue.resumed };
}

function sendCommand(): Command {
  return new Command('send')
    .description("compose the list's digest of the posts waiting and queue it for the digest members now")
    .argument('<list>', 'posting address', listArgument)
    .option('--json', 'print JSON')
    .action(async (list: string, options: { json?: boolean }, command: Command) => {
      const sent = await withApp(command, (app, context) => {
        const outbox = spoolDigestOutbox({ queues: homePaths(context.home).queues, staging: join(context.home, 'digests') }, context.config.queues.durability);
        return sendDigest({ store: app.store, now: app.now, outbox }, list);
      });
      if (options.json) return printJson({ list, sent: sent.map(sentJson) });
      if (sent.length === 0) return void process.stdout.write(`${list}: no posts waiting for a digest; nothing sent\n`);
      for (const issue of sent) {
        const formats = Object.entries(issue.formats).map(([format, members]) => `${format} to ${members}`).join(', ') || 'no digest members: nothing queued';
        process.stdout.write(`${issue.list}: Vol ${issue.volume}, Issue ${issue.issue}: ${issue.posts} post${issue.posts === 1 ? '' : 's'} (${issue.size} bytes)${issue.resumed ? ', finished after an interrupted send' : ''}; ${formats}\n`);
      }
    });
}

function statusJson(status: DigestListStatus) {
  return {
    list: status.list,
    volume: status.volume,
    nextIssue: status.nextIssue,
    pendingPosts: status.pendingPosts,
    pendingSize: status.pendingSize,
    lastSentAt: status.lastSentAt?.toISOString() ?? null,
    unfinishedIssue: status.unfinished === null ? null : { volume: status.unfinished.volume, issue: status.unfinished.issue, status: status.unfinished.status, posts: status.unfinished.posts },
    digestMembers: status.digestMembers,
    digestSizeThreshold: status.sizeThreshold,
    digestSendPeriodic: status.sendPeriodic,
    digestVolumeFrequency: status.volumeFrequency,
  };
}

function statusCommand(): Command {
  return new Command('status')
    .description("each list's digest: volume, next issue, posts and bytes waiting, digest members")
    .argument('[list]', 'only this list', listArgument)
    .option('--json', 'print JSON')
    .action(async (list: string | undefined, options: { json?: boolean }, command: Command) => {
      const all = await withApp(command, (app) => digestsStatus(app));
      const shown = list === undefined ? all : all.filter((status) => status.list === list);
      if (list !== undefined && shown.length === 0) await withApp(command, (app) => app.store.getList(list));
      if (options.json) return printJson({ lists: shown.map(statusJson) });
      if (shown.length === 0) return void process.stdout.write('no lists\n');
      process.stdout.write(
        formatTable(
          ['LIST', 'VOLUME', 'NEXT ISSUE', 'PENDING POSTS', 'PENDING BYTES', 'DIGEST MEMBERS', 'LAST SENT'],
          shown.map((s) => [
            s.list,
            String(s.volume),
            String(s.nextIssue) + (s.unfinished === null ? '' : ` (issue ${s.unfinished.issue} unfinished)`),
            String(s.pendingPosts),
            String(s.pendingSize),
            Object.entries(s.digestMembers).map(([mode, n]) => `${mode.replace('_digests', '')} ${n}`).join(', ') || '-',
            s.lastSentAt?.toISOString() ?? '-',
          ]),
          ['left', 'right', 'right', 'right', 'right', 'left', 'left'],
        ),
      );
    });
}
