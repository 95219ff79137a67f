/**
 * The Postfix files `switchyard aliases` writes into the home directory, as
 * Mailman's `postfix_lmtp` does: pure functions from the lists to the text
 * of each map (writing and `postmap` are in mta-files.ts).
 *
 *   postfix_lmtp     transport_maps for LMTP delivery: every address of every
 *                    list -> `lmtp:[host]:port`; also the relay_recipient_maps,
 *                    so Postfix refuses unknown addresses during SMTP.
 *   postfix_pipe     the same keys -> `switchyard:` (the pipe(8) transport in
 *                    deploy/postfix/master.cf), for pipe delivery; and each
 *                    list domain's routing domain (below) -> `switchyard:`.
 *   postfix_vmap     virtual_alias_maps for pipe delivery when the list domains
 *                    are virtual alias domains: every address -> the same
 *                    address in the routing domain `<domain>.switchyard.invalid`.
 *                    An address of a virtual alias domain cannot go to a
 *                    transport as it is (Postfix answers "User unknown in
 *                    virtual alias table", even when mapped to itself), so it
 *                    is aliased into a domain that postfix_pipe routes to the
 *                    pipe; the pipe passes ${original_recipient}, the address
 *                    before aliasing, so inject routes the list address. The
 *                    .invalid TLD (RFC 2606) can never be a real destination.
 *   postfix_domains  relay_domains: every list domain.
 *
 * Keys are lower case; Postfix looks up `name-bounces+x@d` as
 * `name-bounces@d` when recipient_delimiter = + (VERP bounces, confirm
 * tokens).
 */
import { serviceLocalParts } from '../ingress/routing.js';

export interface MappedList {
  name: string;
  domain: string;
}

export const POSTFIX_FILES = {
  lmtp: 'postfix_lmtp',
  pipe: 'postfix_pipe',
  vmap: 'postfix_vmap',
  domains: 'postfix_domains',
} as const;

/** One LMTP destination as Postfix writes it: `[127.0.0.1]:8024`, `[ipv6:::1]:8024`, or `name:8024` (MX lookups off for a name in brackets too). */
function postfixDestination(host: string, port: number): string {
  return `[${host.includes(':') ? `ipv6:${host}` : host}]:${port}`;
}

/**
 * The transport of every list address: `lmtp:[127.0.0.1]:8024` (this host;
 * a wildcard listening address is reached on loopback), or with `[hosts]
 * lmtp` every host in order, `lmtp:[10.0.0.5]:8024,[10.0.0.6]:8024`: the
 * Postfix LMTP client tries the next destination when one refuses the
 * connection, does not answer or answers 4xx (a list of destinations
 * needs Postfix 3.5 or later).
 */
export function lmtpNexthop(host: string, port: number, hosts: readonly { host: string; port: number }[] = []): string {
  if (hosts.length > 0) return `lmtp:${hosts.map((destination) => postfixDestination(destination.host, destination.port)).join(',')}`;
  const reachable = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `lmtp:${postfixDestination(reachable, port)}`;
}

function header(what: string): string {
  return `# ${what}\n# Written by \`switchyard aliases\` (and on every \`lists create\` / \`lists remove\`); do not edit.\n`;
}

function addresses(lists: readonly MappedList[]): string[] {
  return [...lists]
    .sort((a, b) => (a.domain === b.domain ? (a.name < b.name ? -1 : 1) : a.domain < b.domain ? -1 : 1))
    .flatMap((list) => serviceLocalParts(list.name).map((local) => `${local}@${list.domain}`));
}

function table(rows: readonly [string, string][]): string {
  const width = Math.max(0, ...rows.map(([key]) => key.length)) + 2;
  return rows.map(([key, value]) => `${key.padEnd(width)}${value}\n`).join('');
}

export function postfixLmtpMap(lists: readonly MappedList[], nexthop: string): string {
  return header(`Postfix transport_maps (and relay_recipient_maps): list addresses -> switchyard's LMTP runner`) + table(addresses(lists).map((a) => [a, nexthop]));
}

/** The domain postfix_vmap aliases a virtual list domain's addresses into (see the module comment). */
export function routingDomain(domain: string): string {
  return `${domain}.switchyard.invalid`;
}

function listDomains(lists: readonly MappedList[]): string[] {
  return [...new Set(lists.map((list) => list.domain))].sort();
}

export function postfixPipeMap(lists: readonly MappedList[]): string {
  return (
    header('Postfix transport_maps for pipe delivery: list addresses (and, for postfix_vmap, their routing domains) -> the switchyard pipe(8) transport of master.cf') +
    table([...addresses(lists).map((a): [string, string] => [a, 'switchyard:']), ...listDomains(lists).map((d): [string, string] => [routingDomain(d), 'switchyard:'])])
  );
}

export function postfixVirtualMap(lists: readonly MappedList[]): string {
  return (
    header('Postfix virtual_alias_maps for pipe delivery with the list domains as virtual_alias_domains: each address -> the same address in its routing domain, which postfix_pipe sends to the pipe') +
    table(
      addresses(lists).map((a) => {
        const at = a.lastIndexOf('@');
        return [a, `${a.slice(0, at)}@${routingDomain(a.slice(at + 1))}`];
      }),
    )
  );
}

export function postfixDomainsMap(lists: readonly MappedList[]): string {
  return header('Postfix relay_domains: the domains of the lists') + table(listDomains(lists).map((d) => [d, d]));
}
