/**
 * The list store as runners and the CLI use it: `openStore()` and the types.
 * Nothing outside src/store/ imports the SQLite implementation directly.
 */
export * from './store.js';
export * from './errors.js';
export * from './address.js';
export * from './list-settings.js';
export * from './header-settings.js';
export * from './open.js';

export { ReopeningStore, type StoreHealth } from './reopening-store.js';
