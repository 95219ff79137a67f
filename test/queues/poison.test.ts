/**
 * A message that kills every process that handles it must not take the
 * runner down forever: after maxRestores crashes it is quarantined in `bad`.
 * The fixture test/fixtures/queue-poison-worker.ts dies by SIGKILL after
 * counting each attempt in a file.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BAD_QUEUE, decodeEntry, Switchboard } from '../../queues/index.js';
import { killLiveChildren, makeTempDir, removeTempDir, startFixture, walkFiles, type Exit } from './harness.js';

let root: string;
beforeEach(async () => {
  root = await makeTempDir();
});
afterEach(async () => {
  await killLiveChildren();
  await removeTempDir(root);
});

async function attempts(counter: string): Promise<string[]> {
  try {
    return (await readFile(counter, 'utf8')).split('\n').filter(Boolean);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

async function runWorker(maxRestores: number, counter: string): Promise<{ exit: Exit; lines: string[] }> {
  const child = startFixture('queue-poison-worker', [root, String(maxRestores), counter]);
  const exit = await child.exited;
  return { exit, lines: child.lines };
}

describe('a poison entry that kills its process every time', () => {
  for (const maxRestores of [1, 3, 5]) {
    it(`is processed exactly maxRestores=${maxRestores} times, then quarantined in bad with the crash count as reason, and never again`, async () => {
      const counter = join(root, 'attempts.log');
      const queue = new Switchboard({ root, name: 'in', maxRestores });
      const message = Buffer.from('Subject: poison\r\n\r\n\0\xff', 'latin1');
      const id = await queue.enqueue(message, { listId: 'poison.example.org' });

      let runs = 0;
      while ((await queue.list(['pck', 'bak'])).some((entry) => entry.id === id)) {
        expect(runs++, 'runs before the entry leaves the queue').toBeLessThan(maxRestores + 2);
        const { exit } = await runWorker(maxRestores, counter);
        expect(exit.signal === 'SIGKILL' || exit.code === 0).toBe(true);
      }

      expect(await attempts(counter)).toEqual(Array.from({ length: maxRestores }, () => id));
      const files = await walkFiles(root);
      const psv = files.filter((path) => path.startsWith(`${BAD_QUEUE}/`));
      expect(psv).toEqual([join(BAD_QUEUE, id.split('+')[1]!.slice(0, 2), `${id}.psv`)]);
      const quarantined = decodeEntry(await readFile(join(root, psv[0]!)));
      expect(quarantined.control.reason).toBe(`crashed ${maxRestores} times while being processed`);
      expect(quarantined.control.originalQueue).toBe('in');
      expect(quarantined.control.restores).toBe(maxRestores);
      expect(quarantined.message.equals(message)).toBe(true);
      expect(quarantined.metadata).toEqual({ listId: 'poison.example.org' });
      expect(files.filter((path) => path.endsWith('.bak'))).toEqual([]);

      // One more run finds nothing to do: the counter does not move.
      const extra = await runWorker(maxRestores, counter);
      expect(extra.exit).toEqual({ code: 0, signal: null });
      expect(extra.lines).toEqual(['recovered 0 0', 'empty']);
      expect(await attempts(counter)).toHaveLength(maxRestores);
      expect(await walkFiles(root)).toEqual([...psv, 'attempts.log'].sort());
    });
  }
});
