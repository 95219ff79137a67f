/** Errors logged under `err` go through pino's error serializer: type, message, stack and our code and temporary flag. */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { createLogger } from '../../src/logging.js';
import { StoreBusyError } from '../../src/store/errors.js';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'switchyard-log-err-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

it('a logged error object shows its type, message, stack, code and temporary flag', async () => {
  const file = join(dir, 'logs', 'test.log');
  const { logger, flush } = await createLogger({ destination: file, level: 'info', base: { runner: 'test' } });
  logger.warn({ err: new StoreBusyError('/h/switchyard.db', new Error('SQLITE_BUSY')) }, 'temporary failure: entry deferred to retry');
  flush();
  const line = JSON.parse((await readFile(file, 'utf8')).trim()) as { err: Record<string, unknown> };
  expect(line.err).toMatchObject({
    type: 'StoreBusyError',
    message: expect.stringContaining('is busy'),
    code: 'SY_STORE_BUSY',
    temporary: true,
  });
  expect(String(line.err.stack)).toContain('StoreBusyError');
});
