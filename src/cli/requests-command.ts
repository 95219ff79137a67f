/**
 * `switchyard requests ...`: membership requests waiting on a list, for its
 * owners. `list` shows them all (those waiting for the address's
 * confirmation too); `approve` and `reject` decide the ones waiting for the
 * owners; `discard` removes any. The decisions and their crash windows are
 * src/app/subscriptions.ts; this file parses and prints.
 *
 * Files: new entries in `virgin` (welcome, goodbye, refusal notice), durable
 * per queues.durability, and the list store.
 */
import { Command, InvalidArgumentError } from 'commander';
import { decideRequest, DEFAULT_REQUEST_REJECT_REASON, listRequests, outcomeText, pendingRequestJson, type DecidedRequest } from '../app/subscriptions.js';
import type { PendingRequest } from '../store/index.js';
import { withApp } from './app-context.js';
import { listArgument, printable, printJson } from './lists-command.js';
import { formatTable } from './table.js';

export function requestsCommand(): Command {
  return new Command('requests')
    .description('membership requests waiting for an owner or a confirmation: list, approve, reject, discard')
    .addCommand(listCommand())
    .addCommand(decideCommand('approve', 'carry out a request waiting for the owners (subscribe or unsubscribe the address)'))
    .addCommand(decideCommand('reject', 'refuse a request waiting for the owners, telling the address why (--reason)'))
    .addCommand(decideCommand('discard', 'drop any request without telling anyone'))
    .addHelpText('after', `
Examples:
  switchyard requests list dev@lists.example.org
  switchyard requests approve dev@lists.example.org 7
  switchyard requests reject dev@lists.example.org 7 --reason "members of the lab only"

Kinds: subscribe and unsubscribe wait for the address to confirm;
subscription_approval and unsubscription_approval wait for the owners.
Requests lapse after the list's pendingRequestLifetime (days).

Exit codes: 0 ok, 1 error (no such list or request, or a request that is not
the owners' to decide), 2 bad arguments.`);
}

function idArgument(text: string): number {
  if (!/^\d{1,15}$/.test(text) || Number(text) < 1) throw new InvalidArgumentError('a request id is a positive number (see `requests list`)');
  return Number(text);
}

function listCommand(): Command {
  return new Command('list')
    .description("the list's pending requests, oldest first")
    .argument('<list>', 'posting address', listArgument)
    .option('--json', 'print JSON')
    .action(async (list: string, options: { json?: boolean }, command: Command) => {
      const requests = await withApp(command, (app) => listRequests(app, list));
      if (options.json) return printJson({ list, requests: requests.map(pendingRequestJson) });
      if (requests.length === 0) return void process.stdout.write(`no requests pending on ${list}\n`);
      process.stdout.write(
        formatTable(
          ['ID', 'KIND', 'ADDRESS', 'NAME', 'CREATED', 'EXPIRES'],
          requests.map((r) => [String(r.id), r.kind, printable(r.address), printable(r.displayName), r.createdAt.toISOString(), r.expiresAt.toISOString()]),
          ['right', 'left', 'left', 'left', 'left', 'left'],
        ),
      );
    });
}

function decideCommand(decision: 'approve' | 'reject' | 'discard', description: string): Command {
  const command = new Command(decision)
    .description(description)
    .argument('<list>', 'posting address', listArgument)
    .argument('<id>', 'request id (see `requests list`)', idArgument)
    .option('--json', 'print JSON');
  if (decision === 'reject') command.option('--reason <text>', 'told to the address', DEFAULT_REQUEST_REJECT_REASON);
  return command.action(async (list: string, id: number, options: { json?: boolean; reason?: string }, cmd: Command) => {
    const result = await withApp(cmd, async (app, context) => {
      const decided = await decideRequest(
        app,
        list,
        id,
        decision === 'reject' ? { decision, reason: options.reason ?? DEFAULT_REQUEST_REJECT_REASON } : { decision },
      );
      const found = await app.store.getList(list);
      return { decided, text: describe(decided, found) };
    });
    if (options.json) {
      return printJson({ ...pendingRequestJson(result.decided.request), decision, ...(result.decided.outcome ? { outcome: result.decided.outcome.status } : {}), ...(result.decided.notice ? { notice: result.decided.notice } : {}) });
    }
    process.stdout.write(`request #${id} on ${list}: ${result.text}\n`);
  });
}

function describe(decided: DecidedRequest, list: Parameters<typeof outcomeText>[1]): string {
  switch (decided.decision) {
    case 'approve':
      return `approved: ${outcomeText(decided.outcome!, list)}`;
    case 'reject':
      return `rejected; ${decided.request.address} told so (queued as ${decided.notice})`;
    case 'discard':
      return 'discarded';
  }
}
