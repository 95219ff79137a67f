/**
 * The list store as runners and the CLI use it: `openStore()` and the types.
 * Nothing outside src/store/ imports the SQLite implementation directly.
 */
export * from './store.js';
export * from './errors.js';
export * from './address.js';
export * from './delivery-words.js';
// The settings schema (list-settings.ts) loads zod: import its values from there, where they are needed.
export type { ListSettings, SettingKey } from './list-settings.js';
export * from './moderation-actions.js';
export * from './moderator-password.js';
export { isBanned } from '../mail/ban-match.js';
export * from './header-settings.js';
export * from './open.js';

export { openReopeningStore, ReopeningStore, type StoreHealth } from './reopening-store.js';
