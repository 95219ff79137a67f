/**
 * `switchyard dkim keygen DOMAIN` and `switchyard dkim check DOMAIN`: make a
 * signing key and the DNS record to publish for it; look the record up and
 * say whether it matches the configured key (src/mail/dkim/).
 */
import { Command, Option } from 'commander';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { CliError, EXIT_ERROR, EXIT_USAGE } from './exit-codes.js';
import { existingHome } from './home-option.js';

const DOMAIN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/;

function domainArgument(value: string): string {
  const domain = value.toLowerCase().replace(/\.$/, '');
  if (!DOMAIN.test(domain)) throw new CliError(`not a domain name: ${value} (IDNs in their xn-- form)`, EXIT_USAGE);
  return domain;
}

function keygenCommand(): Command {
  return new Command('keygen')
    .description('make a DKIM private key (mode 0600) and print the DNS TXT record to publish and the [dkim] lines to add')
    .argument('<domain>', 'the signing domain (d=), e.g. the lists\' domain')
    .option('--selector <selector>', 'the selector (default sy<year><month>r for RSA, ...e for Ed25519)')
    .addOption(new Option('--type <type>', 'the key type').choices(['rsa', 'ed25519']).default('rsa'))
    .option('--dir <dir>', 'where the key file goes (default <home>/dkim)')
    .option('--force', 'replace an existing key file of that domain and selector')
    .option('--json', 'print JSON')
    .addHelpText('after', `
RSA keys are 2048 bits; Ed25519 (RFC 8463) keys are short, but not every
receiver checks them yet: configure both to be safe, each with its selector.
Exit codes: 0 written, 1 error (a key file exists already: --force), 2 bad usage.`)
    .action(async (domainArg: string, options: { selector?: string; type: 'rsa' | 'ed25519'; dir?: string; force?: boolean; json?: boolean }, command: Command) => {
      const { selectorSyntax } = await import('../mail/dkim/dns-record.js');
      const { defaultSelector, generateKey } = await import('../mail/dkim/keygen.js');
      const domain = domainArgument(domainArg);
      const selector = options.selector ?? defaultSelector(options.type, new Date());
      if (!selectorSyntax.test(selector)) throw new CliError(`not a selector: ${selector} (DNS labels of a-z, 0-9 and -)`, EXIT_USAGE);
      const home = options.dir === undefined ? existingHome(command) : undefined;
      const dir = options.dir !== undefined ? resolve(options.dir) : join(home!, 'dkim');
      let generated;
      try {
        generated = generateKey({ domain, selector, type: options.type, dir, force: options.force === true });
      } catch (error) {
        throw CliError.of(error, (error as Error).message, EXIT_ERROR);
      }
      // The path as switchyard.toml should hold it: relative to the home when inside it.
      const homeDir = home ?? resolve(command.optsWithGlobals<{ home?: string }>().home ?? process.env.SWITCHYARD_HOME ?? '.');
      const rel = relative(homeDir, generated.file);
      const configPath = rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : generated.file;
      const config = `[dkim.domains."${domain}"]\nselector = "${selector}"\nkeys = ["${configPath}"]`;
      if (options.json) return void process.stdout.write(`${JSON.stringify({ ...generated, config }, null, 2)}\n`);
      process.stdout.write(
        `wrote the ${options.type === 'rsa' ? 'RSA 2048' : 'Ed25519'} private key ${generated.file} (mode 0600)\n\n` +
          `Publish this DNS record:\n${generated.record.zoneLine}\n\n` +
          `Add to switchyard.toml (a second key of the other type: keys = ["...", { file = "...", selector = "..." }]), then \`switchyard restart\`:\n${config}\n\n` +
          `Once the record is published: switchyard dkim check ${domain}\n`,
      );
    });
}

function checkCommand(): Command {
  return new Command('check')
    .description('look up the DNS key record of each configured key of DOMAIN and say whether it matches')
    .argument('<domain>', 'a signing domain of [dkim.domains]')
    .option('--json', 'print JSON')
    .addHelpText('after', `
The lookup uses [dns] servers (default the system's) and [dns] timeout.
Exit codes: 0 every record matches, 1 a record is missing or does not match (the reason is printed), 2 bad usage.`)
    .action(async (domainArg: string, options: { json?: boolean }, command: Command) => {
      const domain = domainArgument(domainArg);
      const home = existingHome(command);
      const { homePaths } = await import('../home.js');
      const { loadConfig } = await import('../config/load.js');
      const { loadSigningKey } = await import('../mail/dkim/keys.js');
      const { checkKey, makeResolver } = await import('../mail/dkim/record-check.js');
      const { asCliError } = await import('./store-access.js');
      let config;
      try {
        config = (await loadConfig(homePaths(home).config)).config;
      } catch (error) {
        throw asCliError(error, home);
      }
      const entry = config.dkim.domains[domain];
      if (entry === undefined) throw new CliError(`no [dkim.domains."${domain}"] in ${homePaths(home).config}: nothing to check (configured: ${Object.keys(config.dkim.domains).join(', ') || 'none'})`, EXIT_ERROR, { code: 'SY_DKIM_RECORD' });
      const resolver = makeResolver({ servers: config.dns.servers, timeoutMs: config.dns.timeout });
      const checks = [];
      for (const key of entry.keys) {
        let signingKey;
        try {
          signingKey = loadSigningKey(isAbsolute(key.file) ? key.file : resolve(home, key.file));
        } catch (error) {
          throw asCliError(error, home);
        }
        checks.push(await checkKey(resolver, domain, key.selector, signingKey));
      }
      const match = checks.every((check) => check.status === 'match');
      if (options.json) {
        process.stdout.write(`${JSON.stringify({ domain, match, keys: checks }, null, 2)}\n`);
      } else {
        for (const check of checks) {
          process.stdout.write(`${check.status === 'match' ? 'ok' : check.status.toUpperCase()}  ${check.name} (${check.algorithm}, ${check.file}): ${check.reason}\n`);
          if (check.status !== 'match') process.stdout.write(`    publish: ${check.name}. IN TXT "${check.expected}"\n`);
        }
      }
      if (!match) {
        const failed = checks.filter((check) => check.status !== 'match');
        throw new CliError(`${failed.length} of ${checks.length} key record(s) of ${domain} do not match: ${failed.map((check) => `${check.name}: ${check.reason}`).join('; ')}`, EXIT_ERROR, { code: 'SY_DKIM_RECORD', reportedAsJson: options.json === true });
      }
    });
}

export function dkimCommand(): Command {
  return new Command('dkim').description('DKIM signing keys: make one (keygen) and check its DNS record (check)').addCommand(keygenCommand()).addCommand(checkCommand());
}
