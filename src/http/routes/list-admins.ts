/**
 * `/api/v1/lists/:list/owners` and `/moderators`: who administers a list, as
 * resources (src/app/list-admins.ts): moderators and owners may look;
 * adding and removing is for owners (and site administrators). Removing the
 * last owner is allowed, as `members remove` allows it, and answered with
 * the warning `lists show` gives for a list without owners.
 */
import { z } from 'zod';
import { addListAdmin, ADMIN_ROLES, listAdmins, removeListAdmin, type AdminRole } from '../../app/list-admins.js';
import type { Member } from '../../store/index.js';
import { route, type RouteSpec } from '../route.js';
import { listParams, memberParams } from '../schemas.js';
import type { ApiDeps } from './deps.js';

export const listAdminSchema = z.object({
  address: z.string(),
  displayName: z.string(),
  role: z.enum(ADMIN_ROLES),
  since: z.string().describe('when the address was given the role'),
});

const addBody = z.object({ address: z.string().max(320), displayName: z.string().max(200).optional() }).strict();

function toAdminJson(member: Member): z.output<typeof listAdminSchema> {
  return { address: member.address, displayName: member.displayName, role: member.role as AdminRole, since: member.subscribedAt.toISOString() };
}

const PLURAL: Record<AdminRole, 'owners' | 'moderators'> = { owner: 'owners', moderator: 'moderators' };

export function listAdminRoutes(deps: ApiDeps): RouteSpec[] {
  const app = deps.app;
  return ADMIN_ROLES.flatMap((role) => {
    const plural = PLURAL[role];
    return [
      route({
        method: 'GET',
        url: `/api/v1/lists/:list/${plural}`,
        summary: `the list's ${plural}, by address`,
        tag: 'owners and moderators',
        access: 'moderator',
        params: listParams,
        response: { status: 200, description: `the ${plural}`, schema: z.object({ [plural]: z.array(listAdminSchema) }) },
        handler: async ({ params }) => ({ [plural]: (await listAdmins(app, params.list, role)).map(toAdminJson) }),
      }),
      route({
        method: 'POST',
        url: `/api/v1/lists/:list/${plural}`,
        summary: `make an address ${role === 'owner' ? 'an owner' : 'a moderator'} of the list (as \`members add --role ${role}\`); 409 if it is one already`,
        tag: 'owners and moderators',
        access: 'owner',
        params: listParams,
        body: addBody,
        response: { status: 201, description: `the new ${role}`, schema: listAdminSchema },
        handler: async ({ params, body }) => toAdminJson(await addListAdmin(app, params.list, role, { address: body.address, ...(body.displayName === undefined ? {} : { displayName: body.displayName }) })),
      }),
      route({
        method: 'DELETE',
        url: `/api/v1/lists/:list/${plural}/:address`,
        summary: `take the ${role} role away from an address (as \`members remove --role ${role}\`)${role === 'owner' ? "; the last owner too, with a warning saying where the list's notices go now" : ''}`,
        tag: 'owners and moderators',
        access: 'owner',
        params: memberParams.extend({ address: z.string().describe(`the ${role}'s address`) }),
        response: { status: 200, description: `the ${role} as it was, and warnings`, schema: listAdminSchema.extend({ warnings: z.array(z.string()) }) },
        handler: async ({ params }) => {
          const { removed, warning } = await removeListAdmin(app, params.list, role, params.address);
          return { ...toAdminJson(removed), warnings: warning === null ? [] : [warning] };
        },
      }),
    ];
  });
}
