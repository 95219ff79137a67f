/**
 * switchyard/runners: what someone writing their own runner, service or
 * pipeline part needs: the queue-runner base (Runner, and StoreRunner for
 * runners that use the list store), the service base, the built-in runners,
 * the queue table, and the shapes of rules, chains, handlers and detectors.
 * Knows nothing of supervision.
 */
export * from './errors.js';
export * from './retry-schedule.js';
export * from './task-pool.js';
export * from './runner.js';
export * from './store-runner.js';
export * from './service.js';
export * from './builtin.js';
export * from './queue-names.js';
export * from './list-setting-registries.js';
export { default as RetryRunner } from './retry.js';
export type { ChainContext, ChainDecision, ChainLimits, Decision, Rule } from './incoming/chain.js';
export type { Handler, PipelineContext } from './incoming/pipeline.js';
export type { Detector, Failures } from './bounce/detector.js';
export type { BounceMessage } from './bounce/bounce-message.js';
