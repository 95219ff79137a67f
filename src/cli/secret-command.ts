/**
 * `switchyard secret rotate`: a new site secret (src/http/site-secret.ts),
 * the key behind one-click unsubscribe links, login links and session
 * cookies. Links and cookies signed with the old key keep working for
 * `http.secretGrace`, then stop. New one-click links and the pages that
 * check them follow the new key at once (they re-read the file when it
 * changes); session cookies are signed with the key the HTTP service read
 * when it started: `switchyard restart` for those. Files: `<home>/site-secret.json`.
 */
import { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { homePaths } from '../home.js';
import { rotateSiteSecret } from '../http/site-secret.js';
import { printJson } from './lists-command.js';
import { asCliError, existingHome } from './store-access.js';

export function secretCommand(): Command {
  return new Command('secret')
    .description('the site secret behind one-click unsubscribe links, login links and session cookies: rotate it')
    .addCommand(
      new Command('rotate')
        .description('make a new site secret; links and sessions made with the old one work for http.secretGrace more, then stop')
        .option('--json', 'print JSON')
        .action(async (options: { json?: boolean }, command: Command) => {
          const home = existingHome(command);
          try {
            const { config } = await loadConfig(homePaths(home).config);
            const now = new Date();
            const result = rotateSiteSecret(home, now, config.http.secretGrace);
            const graceEnds = new Date(now.getTime() + config.http.secretGrace).toISOString();
            if (options.json) return printJson({ key: result.id, dropped: result.dropped, oldKeysValidUntil: graceEnds });
            process.stdout.write(`new site secret ${result.id}; links signed with the previous one work until ${graceEnds}${result.dropped.length === 0 ? '' : `; dropped expired keys ${result.dropped.join(', ')}`}\nnew mail and the pages use it at once; run \`switchyard restart\` so that new session cookies are signed with it too\n`);
          } catch (error) {
            throw asCliError(error, home);
          }
        }),
    )
    .addHelpText('after', `
Examples:
  switchyard secret rotate && switchyard restart   # restart: session cookies too

Exit codes: 0 ok, 1 error (no home, unreadable secret file), 2 bad arguments.`);
}
