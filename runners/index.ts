/** switchyard/runners: the runner base class and the built-in runners. Knows nothing of supervision. */
export * from './errors.js';
export * from './retry-schedule.js';
export * from './task-pool.js';
export * from './runner.js';
export * from './builtin.js';
export { default as RetryRunner } from './retry.js';
