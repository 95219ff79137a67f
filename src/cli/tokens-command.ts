/**
 * `switchyard tokens create|list|revoke`: API tokens of the HTTP service
 * (src/app/api-tokens.ts). `create` prints the token once: only its hash
 * is stored. Files: the list store only.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { API_TOKEN_ROLES, createApiToken, listApiTokens, revokeApiToken } from '../app/api-tokens.js';
import type { ApiToken } from '../store/index.js';
import { withApp } from './app-context.js';
import { listArgument, printable, printJson } from './lists-command.js';
import { formatTable } from './table.js';

export function tokensCommand(): Command {
  return new Command('tokens')
    .description('API tokens of the HTTP service: create (shown once), list, revoke')
    .addCommand(createCommand())
    .addCommand(listCommand())
    .addCommand(revokeCommand())
    .addHelpText('after', `
Examples:
  switchyard tokens create ops                                  # a site administrator's token
  switchyard tokens create ann --list dev@lists.example.org --role moderator
  curl -H "Authorization: Bearer sy_..." http://127.0.0.1:8025/api/v1/lists
  switchyard tokens revoke 3

Exit codes: 0 ok, 1 error (no such list or token), 2 bad arguments.`);
}

function tokenJson(token: ApiToken) {
  return { id: token.id, name: token.name, role: token.role, list: token.list, createdAt: token.createdAt.toISOString(), lastUsedAt: token.lastUsedAt?.toISOString() ?? null };
}

function createCommand(): Command {
  return new Command('create')
    .description('make a token and print it (once: only its hash is kept)')
    .argument('<name>', 'who or what it is for, to recognise it in `tokens list`')
    .option('--list <list>', 'scope it to one list (with --role owner or moderator)', listArgument)
    .addOption(new Option('--role <role>', 'admin (every list and the site), or owner or moderator of --list').choices(API_TOKEN_ROLES))
    .option('--json', 'print JSON')
    .action(async (name: string, options: { list?: string; role?: 'admin' | 'owner' | 'moderator'; json?: boolean }, command: Command) => {
      const role = options.role ?? (options.list === undefined ? 'admin' : 'owner');
      const { token, record } = await withApp(command, (app) => createApiToken(app, { name, role, ...(options.list === undefined ? {} : { list: options.list }) }));
      if (options.json) return printJson({ token, ...tokenJson(record) });
      process.stdout.write(`${token}\n`);
      process.stderr.write(`token ${record.id} (${record.role}${record.list === null ? '' : ` of ${record.list}`}) created; it is shown only now: keep it\n`);
    });
}

function listCommand(): Command {
  return new Command('list')
    .description('every token: id, name, role, list, created, last used (never the token itself)')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      const tokens = await withApp(command, (app) => listApiTokens(app));
      if (options.json) return printJson({ tokens: tokens.map(tokenJson) });
      if (tokens.length === 0) return void process.stdout.write('no API tokens\n');
      process.stdout.write(
        formatTable(
          ['ID', 'NAME', 'ROLE', 'LIST', 'CREATED', 'LAST USED'],
          tokens.map((t) => [String(t.id), printable(t.name), t.role, t.list ?? '-', t.createdAt.toISOString(), t.lastUsedAt?.toISOString() ?? '-']),
          ['right'],
        ),
      );
    });
}

function idArgument(text: string): number {
  if (!/^\d{1,15}$/.test(text) || Number(text) < 1) throw new InvalidArgumentError('a token id is a positive number (see `tokens list`)');
  return Number(text);
}

function revokeCommand(): Command {
  return new Command('revoke')
    .description('revoke a token: requests with it are refused (401) from now on')
    .argument('<id>', 'token id (see `tokens list`)', idArgument)
    .action(async (id: number, _options: unknown, command: Command) => {
      await withApp(command, (app) => revokeApiToken(app, id));
      process.stdout.write(`token ${id} revoked\n`);
    });
}
