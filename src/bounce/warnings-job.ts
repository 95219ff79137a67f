/**
 * The warnings pass as the master runs it on `cron.bounceWarnings`: open the
 * home's list store, run the pass (warnings.ts) with the real clock,
 * enqueue its notices on `<home>/queues/virgin`, log what it did, close.
 * Never throws: a busy store or a broken list is logged and the next run
 * tries again, and the master carries on.
 */
import type { Logger } from 'pino';
import { Switchboard } from '../../queues/index.js';
import type { Config } from '../config/schema.js';
import { homePaths } from '../home.js';
import { openStore, type Store } from '../store/index.js';
import { runWarningsPass } from './warnings.js';

export async function bounceWarningsJob(home: string, config: Config, log: Logger): Promise<void> {
  let store: Store | undefined;
  try {
    store = openStore(home, { busyTimeoutMs: config.store.busyTimeout });
    const virgin = new Switchboard({ root: homePaths(home).queues, name: 'virgin', durability: config.queues.durability });
    const result = await runWarningsPass({ store, now: Date.now, enqueue: async (notice) => void (await virgin.enqueue(notice.message, notice.metadata)) });
    const level = result.warned.length + result.removed.length > 0 ? 'info' : 'debug';
    log[level]({ warned: result.warned, removed: result.removed, staleScoresReset: result.staleScoresReset, lists: result.lists }, 'bounce warnings pass');
  } catch (error) {
    log.error({ err: error }, 'bounce warnings pass failed');
  } finally {
    await store?.close();
  }
}
