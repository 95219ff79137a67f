/**
 * The store of a test home, opened in the test's own process for one piece
 * of work and closed after it: setup and state checks around CLI runs
 * without a node start-up (~0.3 s of CPU) each, so that the CLI runs are
 * kept for what the CLI itself does (parsing, output, exit codes).
 */
import { openStore, type Store } from '../../src/store/index.js';

export async function withHomeStore<T>(home: string, work: (store: Store) => Promise<T>): Promise<T> {
  const store = openStore(home);
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}
