/** switchyard/queues: durable, sliced on-disk queues. Knows nothing about mail. */
export * from './errors.js';
export * from './json.js';
export * from './entry-id.js';
export * from './slice.js';
export * from './file-format.js';
export * from './queue-file.js';
export * from './durable-file.js';
export * from './directory-sync.js';
export * from './slice-watcher.js';
export * from './entry-id-list.js';
export * from './switchboard.js';
export * from './spool.js';
export * from './stream-enqueue.js';
export * from './queue-shape.js';
