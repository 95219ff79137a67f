/**
 * RFC 8058 one-click unsubscription: every member's copy of a post carries
 *
 *   List-Unsubscribe: <BASEURL/u/TOKEN>, <mailto:name-leave@domain>
 *   List-Unsubscribe-Post: List-Unsubscribe=One-Click
 *
 * where TOKEN names the list and the member and is signed with the site
 * secret for the purpose 'unsubscribe' (src/http/site-secret.ts): it cannot
 * be guessed, changed to another address or list, or used for anything
 * else; after `switchyard secret rotate` it works for `http.secretGrace`
 * more, then is refused. A POST to the URL removes the member at once,
 * without a login, through the same application function as `switchyard
 * members remove`; the token alone is the proof (it reached that address).
 *
 * Token: `base64url("LIST ADDRESS") . keyid . mac`: the list and address in
 * clear (the link is the member's own), then SiteSecrets.sign's key id and
 * HMAC over "LIST ADDRESS".
 *
 * Where the headers are made: the incoming pipeline leaves the fields out
 * (list-headers) and asks for them per copy (to-outgoing: `personalize`
 * with `{unsubscribeToken}`, VERP); the outgoing runner signs the tokens,
 * and the render worker puts them in each copy before DKIM signs it, so the
 * signature covers both fields as RFC 8058 requires.
 */
import type { MailingList } from '../store/index.js';
import { ListUnknownError, MemberUnknownError, parseAddress, parseListAddress } from '../store/index.js';
import type { AppContext } from './context.js';
import { removeMember } from './membership.js';

/** The purpose the site secret signs one-click tokens for. */
export const UNSUBSCRIBE_PURPOSE = 'unsubscribe';
/** The placeholder of a `personalize` header value the outgoing runner replaces with the recipient's token. */
export const UNSUBSCRIBE_TOKEN_PLACEHOLDER = '{unsubscribeToken}';

/** What signs and checks tokens: a SiteSecrets (src/http/site-secret.ts) has this shape. */
export interface TokenSigner {
  sign(purpose: string, message: string): string;
  verify(purpose: string, message: string, token: string, now: Date, graceMs: number): boolean;
}

function signedMessage(list: string, address: string): string {
  return `${list} ${address}`;
}

/** The one-click token of `address` on `list`. */
export function unsubscribeToken(secrets: Pick<TokenSigner, 'sign'>, list: string, address: string): string {
  const message = signedMessage(list, address);
  return `${Buffer.from(message, 'utf8').toString('base64url')}.${secrets.sign(UNSUBSCRIBE_PURPOSE, message)}`;
}

/** The one-click URL of a token. */
export function unsubscribeUrl(baseUrl: string, token: string): string {
  return `${baseUrl}/u/${token}`;
}

export type TokenCheck = { valid: true; list: string; address: string } | { valid: false; reason: string };

/** Whether `token` is a one-click token this site made (current key, or retired within the grace), and for whom. */
export function checkUnsubscribeToken(secrets: Pick<TokenSigner, 'verify'>, token: string, now: Date, graceMs: number): TokenCheck {
  const match = /^([A-Za-z0-9_-]{1,1000})\.([0-9a-f]{8}\.[A-Za-z0-9_-]{22})$/.exec(token);
  if (match === null) return { valid: false, reason: 'this unsubscribe link is damaged (not a whole link from a list mail)' };
  const message = Buffer.from(match[1] as string, 'base64url').toString('utf8');
  const space = message.indexOf(' ');
  if (space < 0 || !secrets.verify(UNSUBSCRIBE_PURPOSE, message, match[2] as string, now, graceMs)) {
    return { valid: false, reason: 'this unsubscribe link is not valid (damaged, or older than the site secret it was made with)' };
  }
  return { valid: true, list: message.slice(0, space), address: message.slice(space + 1) };
}

/**
 * Whether posts to `list` get per-recipient one-click links: the list's
 * setting, and the HTTP service is on with an https `baseUrl` (RFC 8058 3.1:
 * the URI MUST be HTTPS; mailbox providers ignore any other). Every copy is
 * then rendered, signed and sent on its own: see the README on the cost.
 */
export function oneClickEnabled(list: MailingList, baseUrl: string | undefined): baseUrl is string {
  return baseUrl !== undefined && baseUrl.startsWith('https://') && list.settings.oneClickUnsubscribe;
}

/** The per-copy header fields of a list (values with the token placeholder), for an out entry's `personalize.headers`. */
export function oneClickHeaders(list: MailingList, baseUrl: string): Record<string, string> {
  return {
    'List-Unsubscribe': `<${unsubscribeUrl(baseUrl, UNSUBSCRIBE_TOKEN_PLACEHOLDER)}>, <mailto:${list.name}-leave@${list.domain}>`,
    'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
  };
}

export type OneClickOutcome = { status: 'unsubscribed' | 'not-member'; list: string; address: string } | { status: 'invalid'; reason: string };

/**
 * The one-click POST: the member named by a valid token leaves the list at
 * once (no goodbye mail: they asked with one click, a reply would be noise).
 * Harmless twice: a member already gone is `not-member`, a success too.
 * An invalid token changes nothing. A list removed since: `not-member`.
 */
export async function oneClickUnsubscribe(ctx: Pick<AppContext, 'store' | 'log'>, secrets: Pick<TokenSigner, 'verify'>, token: string, now: Date, graceMs: number): Promise<OneClickOutcome> {
  const check = checkUnsubscribeToken(secrets, token, now, graceMs);
  if (!check.valid) return { status: 'invalid', reason: check.reason };
  const list = parseListAddress(check.list).address;
  const address = parseAddress(check.address).address;
  try {
    await removeMember(ctx, list, address, 'member');
  } catch (error) {
    if (error instanceof MemberUnknownError || error instanceof ListUnknownError) return { status: 'not-member', list, address };
    throw error;
  }
  ctx.log?.info({ list, address }, 'member unsubscribed by one-click link');
  return { status: 'unsubscribed', list, address };
}
