/**
 * switchyard/app: the use cases, as plain functions over a store, a clock
 * and an enqueue function (context.ts). The CLI, the runners, the scheduler
 * and the HTTP API call these and hold no domain logic of their own.
 */
export * from './context.js';
export * from './events.js';
export * from './spool-enqueue.js';
export * from './list-lookup.js';
export * from './lists.js';
export * from './membership.js';
export * from './member-preferences.js';
export * from './preference-confirmation.js';
export * from './moderation.js';
export * from './list-admins.js';
export * from './nonmembers.js';
export * from './bounces.js';
export * from './subscriptions.js';
export * from './membership-notices.js';
export type { ImportResult, InvalidLine } from '../store/member-import.js';
export type { WarningsPassResult } from '../bounce/warnings.js';
export * from './api-tokens.js';
export * from './site-import.js';
