/**
 * The application context (src/app/context.ts) as a CLI command has it: the
 * home's store (store-access.ts withStore, which also turns store errors
 * into exit codes), the real clock, enqueueing onto the home's queues,
 * list events that rewrite the MTA files, and the registries that settings
 * naming handlers or chains are checked against. No logger: a command reports
 * what it did on stdout.
 */
import type { Command } from 'commander';
import { LIST_SETTING_REGISTRIES } from '../../runners/list-setting-registries.js';
import type { AppContext } from '../app/context.js';
import { AppEvents } from '../app/events.js';
import { spoolEnqueue } from '../app/spool-enqueue.js';
import { homePaths } from '../home.js';
import { regenerateOnListChange } from '../mta/regenerate.js';
import { webBaseUrlOf } from '../app/web-links.js';
import { withStore, type StoreContext } from './store-access.js';
import type { Store } from '../store/index.js';
import { errorCode } from '../errors.js';

export function withApp<T>(command: Command, work: (app: AppContext, context: StoreContext) => Promise<T>): Promise<T> {
  return withStore(command, (store, context) => work(appContextOf(store, context), context));
}

/** The context a command gets, on an open store of a home (also what tests set a home up with, in their own process). */
export function appContextOf(store: Store, context: StoreContext): AppContext {
  const events = new AppEvents();
  regenerateOnListChange(events, context.home, context.config, store);
  return {
    store,
    now: () => new Date(),
    enqueue: spoolEnqueue(homePaths(context.home).queues, context.config.queues.durability),
    events,
    settingRegistries: LIST_SETTING_REGISTRIES,
    ...(context.config.site.owner === undefined ? {} : { siteOwner: context.config.site.owner }),
    ...webBaseUrlOf(context.config.http),
  };
}

/** Things the operator should fix that do not make the command fail (a list without owner): on stderr. */
export function printWarnings(warnings: readonly string[]): void {
  for (const warning of warnings) process.stderr.write(`switchyard: warning: ${warning}\n`);
}

/** A list change stood but something that follows it failed (the MTA files): say so, exit 1. */
export function warnSubscriberErrors(errors: readonly Error[]): void {
  for (const error of errors) process.stderr.write(`switchyard: warning: ${errorCode(error)}: ${error.message}\n`);
  if (errors.length > 0) process.exitCode = 1;
}
