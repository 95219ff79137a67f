/**
 * The store as the package exports it (`switchyard/store`): index.ts and
 * the list settings schema (list-settings.ts, which loads zod). index.ts
 * leaves the schema's values out so that a runner importing the store loads
 * zod only when it first parses a list's settings (sqlite-store.ts loads
 * list-settings.ts then); code outside switchyard gets both from here.
 */
export * from './index.js';
export * from './list-settings.js';
