/**
 * The warnings pass as the master runs it on `cron.bounceWarnings`: open the
 * home's list store, run the pass (src/app/bounces.ts runBounceWarnings)
 * with the real clock, its notices enqueued on `<home>/queues/virgin`,
 * close. Never throws: a busy store or a broken list is logged and the next
 * run tries again, and the master carries on.
 */
import type { Logger } from 'pino';
import { runBounceWarnings } from '../app/bounces.js';
import { spoolEnqueue } from '../app/spool-enqueue.js';
import type { Config } from '../config/schema.js';
import { homePaths } from '../home.js';
import { openStore, type Store } from '../store/index.js';

export async function bounceWarningsJob(home: string, config: Config, log: Logger): Promise<void> {
  let store: Store | undefined;
  try {
    store = openStore(home, { busyTimeoutMs: config.store.busyTimeout });
    await runBounceWarnings({ store, now: () => new Date(), enqueue: spoolEnqueue(homePaths(home).queues, config.queues.durability), log });
  } catch (error) {
    log.error({ err: error }, 'bounce warnings pass failed');
  } finally {
    await store?.close();
  }
}
