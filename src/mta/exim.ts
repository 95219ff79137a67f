/**
 * The Exim stanza `switchyard aliases` writes into the home directory
 * (`exim_switchyard.conf`): a router that accepts the addresses of the lists
 * and an LMTP transport to the LMTP runner, as Mailman 3's Exim4 recipe
 * does, plus a pipe transport for sites that prefer `switchyard inject`.
 * The router reads the list addresses from `exim_switchyard_addresses`
 * (one address per line, written beside it), so creating a list needs no
 * Exim reload: Exim reads the file for each message (lsearch).
 */
import { serviceLocalParts } from '../ingress/routing.js';
import type { MappedList } from './postfix.js';

export const EXIM_FILES = {
  stanza: 'exim_switchyard.conf',
  addresses: 'exim_switchyard_addresses',
} as const;

export function eximAddresses(lists: readonly MappedList[]): string {
  const rows = [...lists]
    .sort((a, b) => (a.domain === b.domain ? (a.name < b.name ? -1 : 1) : a.domain < b.domain ? -1 : 1))
    .flatMap((list) => serviceLocalParts(list.name).map((local) => `${local}@${list.domain}:\n`));
  return `# Written by \`switchyard aliases\`; do not edit. The addresses Exim hands to switchyard.\n${rows.join('')}`;
}

export interface EximOptions {
  home: string;
  lmtpHost: string;
  lmtpPort: number;
  /** `[hosts] lmtp`: every switchyard host of the site, tried in this order; empty: lmtpHost and lmtpPort. */
  lmtpHosts?: readonly { host: string; port: number }[];
  /** The command the pipe transport runs, e.g. `/usr/bin/node /opt/switchyard/dist/src/cli/main.js`. */
  command: string;
}

export function eximStanza(options: EximOptions): string {
  const addresses = `${options.home}/${EXIM_FILES.addresses}`;
  const host = options.lmtpHost === '0.0.0.0' ? '127.0.0.1' : options.lmtpHost;
  const several = options.lmtpHosts ?? [];
  // Several hosts: `<;` makes `;` the list separator, so that host:port (and [IPv6]:port) need no doubled colons;
  // hosts_randomize stays false, so Exim tries them in this order and the next when one is down or defers.
  const hostsLines =
    several.length === 0
      ? `  hosts = ${host}\n  port = ${options.lmtpPort}`
      : `  hosts = <; ${several.map((destination) => (destination.host.includes(':') ? `[${destination.host}]:${destination.port}` : `${destination.host}:${destination.port}`)).join(' ; ')}\n  hosts_randomize = false`;
  return `# switchyard for Exim 4. Written by \`switchyard aliases\`; see deploy/exim/README.md.
# Put the ROUTER part in the routers section (before dnslookup), the
# TRANSPORT part in the transports section, and add the list domains to
# relay_to_domains (or domainlist switchyard_domains below, if you use it).

# ---- ROUTERS ------------------------------------------------------------
# Posts, commands, owners and VERP bounces (name-bounces+anything, via the
# local_part_suffix) of every list in ${addresses}.
switchyard_router:
  driver = accept
  local_part_suffix = +*
  local_part_suffix_optional
  condition = \${if exists{${addresses}}{\${lookup{\${local_part}@\${domain}}lsearch{${addresses}}{yes}{no}}}{no}}
  transport = switchyard_lmtp
  # For pipe delivery instead: transport = switchyard_pipe
  no_more

# ---- TRANSPORTS ---------------------------------------------------------
switchyard_lmtp:
  driver = smtp
  protocol = lmtp
${hostsLines}
  allow_localhost
  # RCPT TO with the +suffix the router stripped: name-bounces+user=example.org
  # is the VERP address the bounce runner decodes, name-confirm+TOKEN the token.
  rcpt_include_affixes = true
  # 8BITMIME and SMTPUTF8 are offered; do not let Exim downgrade the body.
  hosts_try_chunking =

switchyard_pipe:
  driver = pipe
  # Exim 4.94+ refuses tainted data (local part, sender) in the command line:
  # inject reads the recipient and sender from $RECIPIENT and $SENDER.
  command = ${options.command} inject --home ${options.home} --from-env
  user = switchyard
  group = switchyard
  # 75 (EX_TEMPFAIL) defers; 65, 67, 69 bounce.
  temp_errors = 75
  return_fail_output
  delivery_date_add = false
  envelope_to_add = false
  return_path_add
  log_output
`;
}
