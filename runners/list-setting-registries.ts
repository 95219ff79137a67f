/**
 * The list settings whose values name registry entries, with the registry
 * each must be in: what the application layer (src/app/lists.ts) checks
 * `lists set` and `lists create` against. It lives here, beside the
 * registries, because src/app and src/store know nothing of runners; the
 * CLI (and the coming HTTP API) pass it in as AppContext.settingRegistries.
 */
import type { SettingRegistries } from '../src/app/context.js';
import { CHAINS } from './incoming/chain.js';
import { HANDLER_REGISTRY } from './incoming/pipeline.js';

export const LIST_SETTING_REGISTRIES: Readonly<SettingRegistries> = Object.freeze({
  postingPipeline: HANDLER_REGISTRY,
  postingChain: CHAINS,
});
