/**
 * Links to the HTTP service's public pages put in mail: the one-click
 * unsubscribe URL of every copy of a post (src/app/one-click.ts) and the
 * confirmation link of a (un)subscription request. They exist only when the
 * HTTP service runs (`[http] enabled`) and `http.baseUrl` says where the
 * world reaches it (the https URL of the proxy in front): a link to the
 * loopback address the service listens on by default would be a dead link
 * in every recipient's mail.
 */
import type { HttpConfig } from '../http/http-schema.js';

/** The start of every link put in mail (no trailing slash), or undefined when the HTTP service is off or has no `baseUrl`. */
export function publicBaseUrl(http: Pick<HttpConfig, 'enabled' | 'baseUrl'>): string | undefined {
  if (!http.enabled || http.baseUrl === undefined) return undefined;
  return http.baseUrl.replace(/\/+$/, '');
}

/** A list's public page; `@` may stand in a path segment (RFC 3986 pchar), and list addresses hold nothing else a path must escape. */
export function listPageUrl(baseUrl: string, list: string): string {
  return `${baseUrl}/lists/${list}`;
}

/** The page confirming request `token` of `list` (GET shows a button; POST confirms). */
export function confirmUrl(baseUrl: string, list: string, token: string): string {
  return `${listPageUrl(baseUrl, list)}/confirm/${token}`;
}

/** `{ webBaseUrl }` for an AppContext when the HTTP service runs, else nothing. */
export function webBaseUrlOf(http: Pick<HttpConfig, 'enabled' | 'baseUrl'>): { webBaseUrl?: string } {
  const url = publicBaseUrl(http);
  return url === undefined ? {} : { webBaseUrl: url };
}
