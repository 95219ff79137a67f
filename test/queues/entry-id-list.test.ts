/** EntryIdList: a runner's waiting ids kept compactly, in the order of their strings. */
import { randomBytes, randomInt } from 'node:crypto';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EntryIdList, EntryIdListBuilder, Switchboard, makeEntryId, shardOf, parseEntryId } from '../../queues/index.js';
import { stateMask } from '../../queues/entry-names.js';

function idAt(seconds: number, micros: number, sha1 = randomBytes(20).toString('hex')): string {
  return `${String(seconds).padStart(10, '0')}.${String(micros).padStart(6, '0')}+${sha1}`;
}

describe('EntryIdList', () => {
  it('sorts ids as their strings sort: time first, ties by sha1, repeats once', () => {
    const ids: string[] = [];
    for (let i = 0; i < 3_000; i++) ids.push(idAt(1_700_000_000 + randomInt(0, 3), randomInt(0, 5)));
    ids.push(...ids.slice(0, 100));
    const list = EntryIdList.of(ids);
    const expected = [...new Set(ids)].sort();
    expect(list.length).toBe(expected.length);
    expect(list.toArray()).toEqual(expected);
  });

  it('keeps string order for times beyond safe integer microseconds, and for ids from makeEntryId', () => {
    const ids = [idAt(9_999_999_999, 999_999), idAt(9_999_999_999, 1), idAt(0, 0), idAt(9_100_000_000, 5), makeEntryId(Buffer.from('x'), '', 1_700_000_000_000_000n)];
    expect(EntryIdList.of(ids).toArray()).toEqual([...ids].sort());
  });

  it('answers has() for every id in it and for no other, malformed ids included', () => {
    const ids = Array.from({ length: 500 }, () => idAt(1_700_000_000 + randomInt(0, 1000), randomInt(0, 1_000_000)));
    const list = EntryIdList.of(ids);
    for (const id of ids) expect(list.has(id)).toBe(true);
    expect(list.has(idAt(1_600_000_000, 0))).toBe(false);
    expect(list.has('not an id')).toBe(false);
    expect(list.has(`${ids[0]!.slice(0, -1)}g`)).toBe(false);
  });

  it('takes only entry file names in the states asked for', () => {
    const id = idAt(1_700_000_000, 1);
    const builder = new EntryIdListBuilder();
    const mask = stateMask(['pck']);
    for (const name of [`${id}.pck`, `${idAt(1_700_000_000, 2)}.bak`, `${id}.pck.abcdef.tmp`, 'stray', `${id.replace('+', '-')}.pck`, `${id.toUpperCase()}.pck`]) builder.add(name, mask);
    expect(builder.sorted().toArray()).toEqual([id]);
  });

  it("is what Switchboard.waitingIds() returns: the slice's .pck ids, oldest first", async () => {
    const root = await mkdtemp(join(tmpdir(), 'switchyard-idlist-'));
    try {
      const board = new Switchboard({ root, name: 'in', durability: 'none' });
      const ids: string[] = [];
      for (let i = 0; i < 50; i++) ids.push(await board.enqueue(`message ${i}`, {}, { micros: 1_700_000_000_000_000n + BigInt(randomInt(0, 1_000)) }));
      await board.dequeue(ids[0]!);
      // A stranger in a shard directory is not an entry.
      await mkdir(join(root, 'in', shardOf(parseEntryId(ids[1]!).sha1)), { recursive: true });
      await writeFile(join(root, 'in', shardOf(parseEntryId(ids[1]!).sha1), 'README'), 'not an entry');
      const { ids: waiting, unlistable } = await board.waitingIds();
      expect(unlistable).toEqual([]);
      expect(waiting.toArray()).toEqual(ids.slice(1).sort());
      expect(waiting.toArray()).toEqual(await board.files());
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
