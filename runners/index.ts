/** switchyard/runners: the runner and service base classes and the built-in runners. Knows nothing of supervision. */
export * from './errors.js';
export * from './retry-schedule.js';
export * from './task-pool.js';
export * from './runner.js';
export * from './service.js';
export * from './builtin.js';
export { default as RetryRunner } from './retry.js';
