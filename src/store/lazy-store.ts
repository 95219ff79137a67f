/**
 * A Store whose implementation module is loaded on its first call: what
 * openStore() returns for PostgreSQL, so that opening a store stays
 * synchronous and a process that never touches it (or one on SQLite, like
 * `switchyard inject`) never loads postgres-store.ts or `pg`.
 */
import type { Store } from './store.js';

export function lazyStore(location: string, load: () => Promise<Store>): Store {
  let loaded: Promise<Store> | undefined;
  const store = (): Promise<Store> => {
    // A failed load (a missing module) is not remembered: the next call tries again.
    loaded ??= load().catch((error: unknown) => {
      loaded = undefined;
      throw error;
    });
    return loaded;
  };
  return new Proxy({} as Store, {
    get: (_target, property) => {
      if (property === 'location') return location;
      if (property === 'close') return async () => (loaded === undefined ? undefined : (await loaded).close());
      // Not a thenable: `await store` must not call store.then().
      if (typeof property !== 'string' || property === 'then') return undefined;
      return async (...args: unknown[]) => {
        const target = await store();
        return (target[property as keyof Store] as (...a: unknown[]) => Promise<unknown>).apply(target, args);
      };
    },
  });
}
