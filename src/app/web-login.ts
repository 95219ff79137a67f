/**
 * Logging in to the web admin (src/http/admin/): no passwords. Anyone may
 * ask for a one-time link at /login; a link is mailed only to an address
 * that has something to see (an owner or moderator of a list, the site
 * owner `[site] owner`, or a member, for private archives), and the page
 * answers the same whatever the address, so it tells nobody who is a member.
 * A link works once and for `http.loginLinkLifetime` (15 minutes); the
 * store keeps only the SHA-256 of its token. Site administrators may also
 * log in with an admin API token (`switchyard tokens create`).
 *
 * A login makes a new random session id (never one the browser brought:
 * no session fixation), kept in the store as its SHA-256 until it expires
 * (`http.sessionLifetime`) or the user logs out.
 *
 * Who may do what is decided afresh on every request from the store
 * (webRoles): a role taken away, or a token revoked, takes effect at once.
 *
 * Files: the list store (one transaction per change) and, for the login
 * mail, one `virgin` entry through ctx.enqueue (durable once it resolves;
 * killed before, no mail and an unused link that expires).
 */
import { createHash, randomBytes } from 'node:crypto';
import { VIRGIN_QUEUE } from '../../runners/queue-ids.js';
import { buildNotice } from '../mail/notice.js';
import { parseAddress, type ApiToken, type MailingList, type WebSession } from '../store/index.js';
import { authenticateToken } from './api-tokens.js';
import type { AppContext } from './context.js';
import { listServiceAddress } from './membership-notices.js';

export const LOGIN_PATH = '/login';

export type ListRole = 'owner' | 'moderator' | 'member';

/** Who is logged in, and what they may see: decided from the store on every request. */
export interface WebRoles {
  /** The address logged in, or null for a site administrator who logged in with an API token. */
  address: string | null;
  /** What the header shows. */
  who: string;
  /** A site administrator: every list, the runners and queues. */
  admin: boolean;
  /** The lists the address is an owner or moderator of (owner wins when both). */
  lists: Map<string, 'owner' | 'moderator'>;
  /** The lists the address is a member of (private archives). */
  memberOf: Set<string>;
}

const sha256 = (token: string): string => createHash('sha256').update(token, 'utf8').digest('hex');

/** A random token for a link or a session id: 32 bytes, base64url. */
function newToken(): string {
  return randomBytes(32).toString('base64url');
}

/** The address as the store keys it, or null when it is no address (the login page then answers as for any other). */
function normalised(address: string): string | null {
  try {
    return parseAddress(address).address;
  } catch {
    return null;
  }
}

/** Every list role `address` holds, and whether it is the site owner. */
export async function addressRoles(ctx: Pick<AppContext, 'store' | 'siteOwner'>, address: string): Promise<{ admin: boolean; lists: Map<string, 'owner' | 'moderator'>; memberOf: Set<string>; all: MailingList[] }> {
  const all = await ctx.store.lists();
  const lists = new Map<string, 'owner' | 'moderator'>();
  const memberOf = new Set<string>();
  for (const list of all) {
    if ((await ctx.store.findMember(list.address, address, 'owner')) !== null) lists.set(list.address, 'owner');
    else if ((await ctx.store.findMember(list.address, address, 'moderator')) !== null) lists.set(list.address, 'moderator');
    if ((await ctx.store.findMember(list.address, address, 'member')) !== null) memberOf.add(list.address);
  }
  const siteOwner = ctx.siteOwner === undefined ? null : normalised(ctx.siteOwner);
  return { admin: siteOwner !== null && siteOwner.toLowerCase() === address.toLowerCase(), lists, memberOf, all };
}

export interface LoginLinkOptions {
  /** The public URL without a trailing slash (`http.baseUrl`). */
  baseUrl: string;
  lifetimeMs: number;
}

/** What requestLoginLink did, for the log only: the page shows the same in every case. */
export type LoginLinkOutcome = { sent: true; entry: string } | { sent: false; why: string };

/**
 * Mail a one-time login link to `addressText` if it has anything to see;
 * else nothing. The caller answers the same either way.
 */
export async function requestLoginLink(ctx: Pick<AppContext, 'store' | 'now' | 'enqueue' | 'siteOwner'>, addressText: string, options: LoginLinkOptions): Promise<LoginLinkOutcome> {
  const address = normalised(addressText);
  if (address === null) return { sent: false, why: 'not an address' };
  const roles = await addressRoles(ctx, address);
  if (!roles.admin && roles.lists.size === 0 && roles.memberOf.size === 0) return { sent: false, why: 'no list role and not the site owner' };
  // A notice goes out through a list (its From, List-Id and the virgin runner's checks): one the address belongs to, else any.
  const via = roles.all.find((list) => roles.lists.has(list.address) || roles.memberOf.has(list.address)) ?? roles.all[0];
  if (via === undefined) return { sent: false, why: 'no list to send the mail through (log in with an API token)' };
  const token = newToken();
  const now = ctx.now();
  const expiresAt = new Date(now.getTime() + options.lifetimeMs);
  await ctx.store.addLoginLink({ hash: sha256(token), address, createdAt: now, expiresAt });
  const link = `${options.baseUrl}${LOGIN_PATH}/${token}`;
  const message = buildNotice({
    from: listServiceAddress(via, '-request'),
    to: [address],
    subject: 'Your switchyard login link',
    text: [
      `Someone (probably you) asked to log in to the switchyard web admin as`,
      `${address}. Open this link to log in:`,
      '',
      `    ${link}`,
      '',
      `It works once, until ${expiresAt.toUTCString()}.`,
      `If you did not ask for it, ignore this mail: nobody can use the link without it.`,
    ].join('\n'),
    listId: via.address,
    date: now,
  });
  const entry = await ctx.enqueue(VIRGIN_QUEUE, message, { listId: via.address, recipients: [address], notice: 'login-link' });
  return { sent: true, entry };
}

/** The address of an unused, unexpired link (now used), or null. */
export async function redeemLoginLink(ctx: Pick<AppContext, 'store' | 'now'>, token: string): Promise<string | null> {
  if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return null;
  const taken = await ctx.store.takeLoginLink(sha256(token), ctx.now());
  return taken?.address ?? null;
}

/** A new session for `who`; returns the session id for the cookie (only its hash is stored). */
export async function startSession(ctx: Pick<AppContext, 'store' | 'now'>, who: { address: string } | { token: ApiToken }, lifetimeMs: number): Promise<string> {
  const id = newToken();
  const now = ctx.now();
  await ctx.store.addWebSession({
    hash: sha256(id),
    address: 'address' in who ? who.address : null,
    tokenId: 'token' in who ? who.token.id : null,
    createdAt: now,
    expiresAt: new Date(now.getTime() + lifetimeMs),
  });
  // Expired links and sessions go at each login, and at the scheduler's pending-requests run (a site nobody logs into).
  await removeExpiredWebState(ctx);
  return id;
}

/** Removes login links and web sessions past their expiry (a used link went when it was used); returns how many. */
export function removeExpiredWebState(ctx: Pick<AppContext, 'store' | 'now'>): Promise<number> {
  return ctx.store.removeExpiredWebState(ctx.now());
}

/** A session for an admin API token; null when the token is not a valid site administrator's. */
export async function startTokenSession(ctx: Pick<AppContext, 'store' | 'now'>, token: string, lifetimeMs: number): Promise<string | null> {
  const record = await authenticateToken(ctx, token.trim());
  if (record === null || record.role !== 'admin') return null;
  return startSession(ctx, { token: record }, lifetimeMs);
}

export async function endSession(ctx: Pick<AppContext, 'store'>, sessionId: string): Promise<void> {
  await ctx.store.removeWebSession(sha256(sessionId));
}

/** The roles of the session `sessionId`, or null when there is no such live session. */
export async function sessionRoles(ctx: Pick<AppContext, 'store' | 'now' | 'siteOwner'>, sessionId: string): Promise<WebRoles | null> {
  if (!/^[A-Za-z0-9_-]{43}$/.test(sessionId)) return null;
  const session: WebSession | null = await ctx.store.webSession(sha256(sessionId), ctx.now());
  if (session === null) return null;
  if (session.tokenId !== null) {
    // The token's row goes with its revocation, and its sessions with it (ON DELETE CASCADE).
    const token = (await ctx.store.apiTokens()).find((t) => t.id === session.tokenId);
    if (token === undefined || token.role !== 'admin') return null;
    return { address: null, who: `site admin (token ${token.name})`, admin: true, lists: new Map(), memberOf: new Set() };
  }
  const address = session.address as string;
  const roles = await addressRoles(ctx, address);
  return { address, who: roles.admin ? `${address} (site admin)` : address, admin: roles.admin, lists: roles.lists, memberOf: roles.memberOf };
}

/** The role `roles` holds on `list` for the admin pages: a site administrator is an owner of every list. */
export function adminRoleOn(roles: WebRoles, list: string): 'owner' | 'moderator' | null {
  if (roles.admin) return 'owner';
  return roles.lists.get(list) ?? null;
}
