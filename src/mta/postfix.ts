/**
 * The Postfix files `switchyard aliases` writes into the home directory, as
 * Mailman's `postfix_lmtp` does: pure functions from the lists to the text
 * of each map (writing and `postmap` are in mta-files.ts).
 *
 *   postfix_lmtp     transport_maps for LMTP delivery: every address of every
 *                    list -> `lmtp:[host]:port`; also the relay_recipient_maps,
 *                    so Postfix refuses unknown addresses during SMTP.
 *   postfix_pipe     the same keys -> `switchyard:` (the pipe(8) transport in
 *                    deploy/postfix/master.cf), for pipe delivery.
 *   postfix_vmap     virtual_alias_maps for pipe delivery when the list domains
 *                    are virtual alias domains: every address -> itself, so
 *                    Postfix knows it (others are refused as unknown users)
 *                    and postfix_pipe sends it to the pipe with ${recipient}
 *                    unchanged.
 *   postfix_domains  relay_domains: every list domain.
 *
 * Keys are lower case; Postfix looks up `name-bounces+x@d` as
 * `name-bounces@d` when recipient_delimiter = + (VERP bounces, confirm
 * tokens).
 */
import { serviceLocalParts } from '../mail/routing.js';

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

/** `lmtp:[127.0.0.1]:8024`; a wildcard listening address is reached on loopback. */
export function lmtpNexthop(host: string, port: number): string {
  const reachable = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `lmtp:[${reachable.includes(':') ? `ipv6:${reachable}` : reachable}]:${port}`;
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

export function postfixPipeMap(lists: readonly MappedList[]): string {
  return header('Postfix transport_maps for pipe delivery: list addresses -> the switchyard pipe(8) transport of master.cf') + table(addresses(lists).map((a) => [a, 'switchyard:']));
}

export function postfixVirtualMap(lists: readonly MappedList[]): string {
  return (
    header('Postfix virtual_alias_maps for pipe delivery with the list domains as virtual_alias_domains: each address -> itself (postfix_pipe then picks the transport)') +
    table(addresses(lists).map((a) => [a, a]))
  );
}

export function postfixDomainsMap(lists: readonly MappedList[]): string {
  const domains = [...new Set(lists.map((list) => list.domain))].sort();
  return header('Postfix relay_domains: the domains of the lists') + table(domains.map((d) => [d, d]));
}
