/**
 * `switchyard aliases`: write the MTA files for every list into the home
 * directory (src/mta/: Postfix maps, indexed with postmap, and the Exim
 * stanza), as Mailman's `mailman aliases`. `lists create` and `lists
 * remove` rewrite them too (src/mta/regenerate.ts subscribes to the list
 * events), so the files always match the store.
 */
import { Command } from 'commander';
import { regenerateMtaFiles } from '../mta/regenerate.js';
import { withStore } from './store-access.js';

export function aliasesCommand(): Command {
  return new Command('aliases')
    .description('write the Postfix maps (LMTP and pipe) and the Exim stanza for every list into the home directory')
    .option('--json', 'print JSON')
    .addHelpText('after', `
Files (in the home directory; see deploy/postfix/README.md and deploy/exim/README.md):
  postfix_lmtp      transport_maps and relay_recipient_maps: list addresses -> lmtp:[lmtp.host]:lmtp.port
  postfix_pipe      transport_maps for pipe delivery: list addresses -> switchyard:
  postfix_vmap      virtual_alias_maps for pipe delivery in virtual alias domains
  postfix_domains   relay_domains (or virtual_alias_domains)
  exim_switchyard.conf, exim_switchyard_addresses   the Exim router and transports

Each Postfix map is indexed with \`mta.postmapCommand mta.postfixMapType:FILE\`.
They are rewritten by every \`lists create\` and \`lists remove\` as well.

Exit codes: 0 ok, 1 error (e.g. postmap failed).`)
    .action(async (options: { json?: boolean }, command: Command) => {
      const written = await withStore(command, (store, { home, config }) => regenerateMtaFiles(home, config, store));
      if (options.json) return void process.stdout.write(`${JSON.stringify(written, null, 2)}\n`);
      process.stdout.write(`wrote ${written.files.length} files for ${written.lists} list(s)${written.indexed.length > 0 ? `, indexed ${written.indexed.length} Postfix maps` : ''}:\n${written.files.map((f) => `  ${f}\n`).join('')}${written.notIndexed ? `Postfix maps not indexed: ${written.notIndexed}\n` : ''}`);
    });
}

