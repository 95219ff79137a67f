/**
 * The shapes the REST API accepts and answers, as zod schemas: request
 * validation (route.ts) and the OpenAPI document (openapi.ts) both come from
 * these, and the to*Json functions below write the answers in these shapes.
 * Named schemas (NAMED_SCHEMAS) become `#/components/schemas/NAME`.
 */
import { z } from 'zod';
import { DELIVERY_MODES, DELIVERY_STATES, ROLES, type HeldMessage, type Member, type PendingRequest } from '../store/index.js';
import type { ListOverview } from '../app/lists.js';
import { shownSettings } from '../app/lists.js';
import { pendingRequestJson } from '../app/subscriptions.js';

export const errorSchema = z
  .object({
    error: z.object({
      code: z.string().describe('the stable SY_* code (see the README error table)'),
      message: z.string(),
      temporary: z.boolean().describe('true: the same request may succeed later'),
      problems: z.array(z.string()).optional().describe('each invalid field (SY_API_INVALID)'),
    }),
  })
  .describe('every error answer');

export const memberSchema = z.object({
  address: z.string(),
  displayName: z.string(),
  role: z.enum(ROLES),
  deliveryStatus: z.enum(DELIVERY_STATES),
  deliveryMode: z.enum(DELIVERY_MODES),
  moderationAction: z.string().nullable(),
  receiveOwnPostings: z.boolean(),
  receiveListCopy: z.boolean(),
  acknowledgePosts: z.boolean(),
  hideAddress: z.boolean(),
  preferredLanguage: z.string().nullable(),
  bounceScore: z.number(),
  lastBounceAt: z.string().nullable(),
  subscribedAt: z.string(),
});

export const listSchema = z.object({
  address: z.string(),
  displayName: z.string(),
  description: z.string(),
  createdAt: z.string(),
  counts: z.object({ member: z.number(), owner: z.number(), moderator: z.number() }),
  held: z.number().describe('posts waiting for a moderator'),
  warnings: z.array(z.string()),
  settings: z.record(z.string(), z.unknown()).describe('every list setting (`switchyard lists show`); the moderator password only as "(set)" or null'),
});

export const heldSchema = z.object({
  id: z.number(),
  list: z.string(),
  sender: z.string(),
  subject: z.string(),
  reason: z.string(),
  receivedAt: z.string(),
  messageId: z.string().nullable(),
});

export const heldViewSchema = heldSchema.extend({
  headers: z.array(z.object({ name: z.string(), value: z.string() })),
  text: z.string().describe('the body as received, decoded as UTF-8 (not rendered: MIME parts and encodings as they are)'),
});

export const requestSchema = z.object({
  id: z.number(),
  list: z.string(),
  kind: z.string(),
  address: z.string(),
  displayName: z.string(),
  createdAt: z.string(),
  expiresAt: z.string(),
  waitsFor: z.enum(['owners', 'confirmation']),
});

export const NAMED_SCHEMAS: ReadonlyMap<z.ZodType, string> = new Map<z.ZodType, string>([
  [errorSchema, 'Error'],
  [memberSchema, 'Member'],
  [listSchema, 'List'],
  [heldSchema, 'HeldPost'],
  [heldViewSchema, 'HeldPostView'],
  [requestSchema, 'MembershipRequest'],
]);

export const listParams = z.object({ list: z.string().describe('the posting address, e.g. dev@lists.example.org') });
export const memberParams = listParams.extend({ address: z.string().describe('the member address') });
export const idParams = listParams.extend({ id: z.coerce.number().int().positive().describe('the id from the listing') });

export function toMemberJson(member: Member): z.output<typeof memberSchema> {
  return {
    address: member.address,
    displayName: member.displayName,
    role: member.role,
    deliveryStatus: member.deliveryStatus,
    deliveryMode: member.deliveryMode,
    moderationAction: member.moderationAction,
    receiveOwnPostings: member.receiveOwnPostings,
    receiveListCopy: member.receiveListCopy,
    acknowledgePosts: member.acknowledgePosts,
    hideAddress: member.hideAddress,
    preferredLanguage: member.preferredLanguage,
    bounceScore: member.bounceScore,
    lastBounceAt: member.lastBounceAt?.toISOString() ?? null,
    subscribedAt: member.subscribedAt.toISOString(),
  };
}

export function toListJson(overview: ListOverview): z.output<typeof listSchema> {
  const { list } = overview;
  return {
    address: list.address,
    displayName: list.displayName,
    description: list.description,
    createdAt: list.createdAt.toISOString(),
    counts: overview.counts,
    held: overview.held,
    warnings: overview.warnings,
    settings: shownSettings(list),
  };
}

export function toHeldJson(held: HeldMessage): z.output<typeof heldSchema> {
  return { id: held.id, list: held.list, sender: held.sender, subject: held.subject, reason: held.reason, receivedAt: held.receivedAt.toISOString(), messageId: held.messageId };
}

export function toRequestJson(request: PendingRequest): z.output<typeof requestSchema> {
  return pendingRequestJson(request);
}
