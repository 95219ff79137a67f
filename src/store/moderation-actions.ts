/**
 * What the posting chain does with a post (Mailman's Action). Apart from
 * list-settings.ts (zod) so that code naming the actions loads no schema.
 */
export const MODERATION_ACTIONS = ['accept', 'hold', 'reject', 'discard'] as const;
export type ModerationAction = (typeof MODERATION_ACTIONS)[number];
