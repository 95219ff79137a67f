/**
 * What an application function is given instead of reaching for a process:
 * the store, a clock, a way to enqueue, a logger and the event bus. The CLI
 * (src/cli/app-context.ts), the runners, the scheduler and the coming HTTP
 * API each build one from what they own; tests build one from a temporary
 * store, a fake clock and an array.
 *
 * Each function asks only for the parts it uses (`Pick<AppContext, ...>`),
 * so a test of `addMember` needs no spool and a test of `decideHeld` no
 * logger.
 */
import type { Logger } from 'pino';
import type { JsonObject } from '../../queues/index.js';
import type { SettingKey, Store } from '../store/index.js';
import type { AppEvents } from './events.js';

/** The time now; tests pass a fake one. */
export type Clock = () => Date;

/**
 * Put a message on a queue (`in`, `virgin`, ...) with its metadata; resolves
 * with the entry id once the entry is durably enqueued.
 */
export type Enqueue = (queue: string, message: Uint8Array, metadata: JsonObject) => Promise<string>;

/** What a list setting naming registry entries is checked against: src/registry.ts's Registry has this shape. */
export interface EntryNames {
  /** Throws (RegistryUnknownError, listing the valid names) for the first name that is not an entry. */
  check(names: Iterable<string>): void;
}

/**
 * For each list setting whose values name registry entries (postingPipeline:
 * the pipeline handlers; postingChain: the chains), the registry they must
 * be in. The registries live with the runners, which src/app does not
 * import: whoever builds the context passes them in (the CLI passes
 * runners/list-setting-registries.ts).
 */
export type SettingRegistries = Partial<Record<SettingKey, EntryNames>>;

export interface AppContext {
  store: Store;
  now: Clock;
  enqueue: Enqueue;
  /** Where a use case logs what it did on its own (expiry, warnings); the CLI passes none. */
  log?: Logger;
  /** Where list lifecycle events go (ListCreated, ListRemoved): the MTA files subscribe. */
  events: AppEvents;
  /**
   * What settings naming registry entries are checked against when set; or
   * how to load them at the first such check (the HTTP service: the
   * registries bring the incoming runner's chains and handlers, megabytes an
   * idle service does without).
   */
  settingRegistries: SettingRegistries | (() => Promise<SettingRegistries>);
  /** The HTTP service's public URL (src/app/web-links.ts) when it runs: confirmation mails then carry a link to confirm on the web. */
  webBaseUrl?: string;
  /** `[site] owner`: who gets the notices of a list without owners or moderators; unset: postmaster@ the list's domain. */
  siteOwner?: string;
}
