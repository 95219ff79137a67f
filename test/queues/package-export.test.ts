import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
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

describe('switchyard/app', () => {
  it('exports the application functions and the event bus, with type declarations', async () => {
    const names = ['createList', 'removeList', 'setListValue', 'addMember', 'importMembers', 'decideHeld', 'expireHeldPosts', 'runBounceWarnings', 'bounceScores', 'lookupList', 'spoolEnqueue', 'AppEvents'];
    const script = `import('switchyard/app').then((app) => console.log(JSON.stringify(${JSON.stringify(names)}.map((n) => [n, typeof app[n]]))))`;
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT });
    expect(JSON.parse(stdout)).toEqual(names.map((name) => [name, 'function']));

    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { exports: Record<string, { types: string }> };
    const types = await readFile(join(ROOT, pkg.exports['./app']!.types), 'utf8');
    for (const module of ['context', 'events', 'lists', 'membership', 'moderation', 'bounces', 'list-lookup']) expect(types).toContain(`'./${module}.js'`);
    expect(await readFile(join(ROOT, 'dist/src/app/moderation.d.ts'), 'utf8')).toMatch(/export declare function expireHeldPosts\(ctx: Pick<AppContext, 'store' \| 'now' \| 'log'>\)/);
  });
});
