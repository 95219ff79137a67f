/**
 * `/api/v1/lists`: create (site admin), read (moderators and owners of the
 * list), update settings (owners; with the same validation as `lists set`,
 * and ETag / If-Match so two admins do not overwrite each other silently),
 * delete (site admin). Every action is a src/app/lists.ts function.
 */
import { z } from 'zod';
import { createList, listLists, listVersionTag, removeList, setListValues, showList } from '../../app/lists.js';
import { ApiStaleError } from '../errors.js';
import { route, type RouteSpec } from '../route.js';
import { listParams, listSchema, toListJson } from '../schemas.js';
import type { ApiDeps } from './deps.js';

const etag = (tag: string): string => `"${tag}"`;
/** The tag inside an If-Match value (`"tag"` or `W/"tag"`), or the value as given. */
const unquote = (value: string): string => value.trim().replace(/^W\//, '').replace(/^"(.*)"$/, '$1');

const createBody = z
  .object({
    address: z.string().describe('posting address name@domain'),
    displayName: z.string().max(200).optional(),
    description: z.string().max(2000).optional(),
    owners: z.array(z.string()).max(100).default([]),
    moderators: z.array(z.string()).max(100).default([]),
  })
  .strict();

const settingsBody = z
  .record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.array(z.string()), z.null()]))
  .refine((values) => Object.keys(values).length > 0, { message: 'give at least one setting' })
  .describe('settings to change, by key (`switchyard lists show` lists them), plus displayName and description; values as `lists set` takes them (arrays as arrays, null for no password)');

export function listRoutes(deps: ApiDeps): RouteSpec[] {
  const app = deps.app;
  return [
    route({
      method: 'GET',
      url: '/api/v1/lists',
      summary: 'the lists this token may see (every list for a site administrator), with their counts',
      tag: 'lists',
      access: 'token',
      response: { status: 200, description: 'the lists', schema: z.object({ lists: z.array(listSchema) }) },
      handler: async ({ principal }) => {
        const lists = await listLists(app);
        return { lists: lists.filter((o) => principal?.role === 'admin' || o.list.address === principal?.list).map(toListJson) };
      },
    }),
    route({
      method: 'POST',
      url: '/api/v1/lists',
      summary: 'create a list with its owners and moderators (as `lists create`)',
      tag: 'lists',
      access: 'admin',
      body: createBody,
      response: { status: 201, description: 'the new list', schema: listSchema },
      handler: async ({ body, reply }) => {
        const { overview, subscriberErrors } = await createList(app, {
          address: body.address,
          ...(body.displayName === undefined ? {} : { displayName: body.displayName }),
          ...(body.description === undefined ? {} : { description: body.description }),
          owners: body.owners,
          moderators: body.moderators,
        });
        reply.header('etag', etag(listVersionTag(overview.list)));
        return { ...toListJson(overview), warnings: [...overview.warnings, ...subscriberErrors.map((e) => e.message)] };
      },
    }),
    route({
      method: 'GET',
      url: '/api/v1/lists/:list',
      summary: 'one list with its settings; the ETag header tags the settings for If-Match',
      tag: 'lists',
      access: 'moderator',
      params: listParams,
      response: { status: 200, description: 'the list', schema: listSchema },
      handler: async ({ params, reply }) => {
        const overview = await showList(app, params.list);
        reply.header('etag', etag(listVersionTag(overview.list)));
        return toListJson(overview);
      },
    }),
    route({
      method: 'PATCH',
      url: '/api/v1/lists/:list',
      summary: 'change settings (all or none, each checked as `lists set` checks it); with If-Match, refused (409) when the list changed since read',
      tag: 'lists',
      access: 'owner',
      params: listParams,
      body: settingsBody,
      headers: [{ name: 'If-Match', description: 'the ETag of the list as read: the change is refused with 409 SY_API_STALE if it changed since' }],
      response: { status: 200, description: 'the list as changed; ETag its new tag', schema: listSchema },
      handler: async ({ params, body, request, reply }) => {
        const ifMatch = request.headers['if-match'];
        const expectTag = typeof ifMatch === 'string' && ifMatch.trim() !== '*' ? unquote(ifMatch) : undefined;
        const overview = await setListValues(app, params.list, body, {
          ...(expectTag === undefined ? {} : { expectTag, onStale: (current: string) => new ApiStaleError(params.list, etag(expectTag), etag(current)) }),
        });
        reply.header('etag', etag(listVersionTag(overview.list)));
        return toListJson(overview);
      },
    }),
    route({
      method: 'DELETE',
      url: '/api/v1/lists/:list',
      summary: 'remove a list with its members and held posts (as `lists remove`)',
      tag: 'lists',
      access: 'admin',
      params: listParams,
      response: { status: 200, description: 'what was removed', schema: z.object({ list: z.string(), members: z.number(), held: z.number(), warnings: z.array(z.string()) }) },
      handler: async ({ params }) => {
        const { removed, subscriberErrors } = await removeList(app, params.list);
        return { ...removed, warnings: subscriberErrors.map((e) => e.message) };
      },
    }),
  ];
}
