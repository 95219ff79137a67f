import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('package exports', () => {
  it('the queue library is importable as switchyard/queues, the documented public API', async () => {
    const script = `import('switchyard/queues').then((q) => console.log(JSON.stringify({
      Switchboard: typeof q.Switchboard, Spool: typeof q.Spool, CorruptEntryError: typeof q.CorruptEntryError,
      methods: ['enqueue', 'files', 'dequeue', 'finish', 'recoverBackupFiles', 'watch'].filter((m) => typeof q.Switchboard.prototype[m] === 'function'),
    })))`;
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT });
    expect(JSON.parse(stdout)).toEqual({
      Switchboard: 'function',
      Spool: 'function',
      CorruptEntryError: 'function',
      methods: ['enqueue', 'files', 'dequeue', 'finish', 'recoverBackupFiles', 'watch'],
    });
  });
});
