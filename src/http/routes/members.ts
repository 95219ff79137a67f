/**
 * `/api/v1/lists/:list/members`: paged and searchable listing (moderators
 * and owners), add, remove and preferences (owners). Cursor paging: each
 * page gives `next`, an opaque cursor for the page after it (stable while
 * members come and go, unlike offsets).
 */
import { z } from 'zod';
import { addMember, pageMembers, removeMember } from '../../app/membership.js';
import { parsePreference, setMemberPreferences, type PreferenceChanges } from '../../app/member-preferences.js';
import { ROLES, type Role } from '../../store/index.js';
import { ApiValidationError } from '../errors.js';
import { route, type RouteSpec } from '../route.js';
import { listParams, memberParams, memberSchema, toMemberJson } from '../schemas.js';
import type { ApiDeps } from './deps.js';

export const MAX_PAGE = 1000;

function encodeCursor(next: { address: string; role: Role }): string {
  return Buffer.from(JSON.stringify([next.address, next.role])).toString('base64url');
}

function decodeCursor(cursor: string): { address: string; role: Role } {
  try {
    const [address, role] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
    if (typeof address === 'string' && typeof role === 'string' && (ROLES as readonly string[]).includes(role)) return { address, role: role as Role };
  } catch {
    // fall through: not one of ours
  }
  throw new ApiValidationError('query', ['cursor: not a cursor this API gave (use the `next` of the previous page)']);
}

const pageQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(MAX_PAGE).default(100).describe(`records per page, 1-${MAX_PAGE}`),
    cursor: z.string().max(2000).optional().describe('the `next` of the previous page'),
    search: z.string().max(200).optional().describe('only addresses or display names containing this (case-insensitive)'),
    role: z.enum(ROLES).optional().describe('only this role (default every role)'),
  })
  .strict();

const roleQuery = z.object({ role: z.enum(ROLES).default('member') }).strict();

const addBody = z
  .object({ address: z.string(), displayName: z.string().max(200).optional(), role: z.enum(ROLES).default('member') })
  .strict();

const preferencesBody = z
  .record(z.string(), z.union([z.string(), z.boolean(), z.null()]))
  .refine((values) => Object.keys(values).length > 0, { message: 'give at least one preference' })
  .describe('preferences to change (as `members set` takes them): deliveryMode, deliveryStatus, receiveOwnPostings, receiveListCopy, acknowledgePosts, hideAddress, preferredLanguage (null: the list default)');

export function memberRoutes(deps: ApiDeps): RouteSpec[] {
  const app = deps.app;
  return [
    route({
      method: 'GET',
      url: '/api/v1/lists/:list/members',
      summary: "one page of the list's member records, by address",
      tag: 'members',
      access: 'moderator',
      params: listParams,
      query: pageQuery,
      response: { status: 200, description: 'a page', schema: z.object({ members: z.array(memberSchema), next: z.string().nullable().describe('cursor of the next page; null on the last') }) },
      handler: async ({ params, query }) => {
        const page = await pageMembers(app, params.list, {
          limit: query.limit,
          ...(query.cursor === undefined ? {} : { after: decodeCursor(query.cursor) }),
          ...(query.search === undefined ? {} : { search: query.search }),
          ...(query.role === undefined ? {} : { role: query.role }),
        });
        return { members: page.members.map(toMemberJson), next: page.next === null ? null : encodeCursor(page.next) };
      },
    }),
    route({
      method: 'POST',
      url: '/api/v1/lists/:list/members',
      summary: 'add a member, owner or moderator (as `members add`: no confirmation, no welcome)',
      tag: 'members',
      access: 'owner',
      params: listParams,
      body: addBody,
      response: { status: 201, description: 'the new member record', schema: memberSchema },
      handler: async ({ params, body }) =>
        toMemberJson(await addMember(app, params.list, { address: body.address, role: body.role, ...(body.displayName === undefined ? {} : { displayName: body.displayName }) })),
    }),
    route({
      method: 'DELETE',
      url: '/api/v1/lists/:list/members/:address',
      summary: 'take a role away from an address (as `members remove`)',
      tag: 'members',
      access: 'owner',
      params: memberParams,
      query: roleQuery,
      response: { status: 200, description: 'the record as it was', schema: memberSchema },
      handler: async ({ params, query }) => toMemberJson(await removeMember(app, params.list, params.address, query.role)),
    }),
    route({
      method: 'PATCH',
      url: '/api/v1/lists/:list/members/:address/preferences',
      summary: "change a member's preferences (as `members set`)",
      tag: 'members',
      access: 'owner',
      params: memberParams,
      body: preferencesBody,
      response: { status: 200, description: 'the member as changed', schema: memberSchema },
      handler: async ({ params, body }) => {
        let changes: PreferenceChanges = {};
        for (const [key, value] of Object.entries(body)) changes = { ...changes, ...parsePreference(key, value === null ? 'default' : String(value)) };
        return toMemberJson(await setMemberPreferences(app, params.list, params.address, changes));
      },
    }),
  ];
}
