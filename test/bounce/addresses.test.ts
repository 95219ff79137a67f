/**
 * addressesIn() (runners/bounce/addresses.ts) widens from each `@` instead
 * of running its token expression over the whole text: it must find exactly
 * the tokens that expression finds. Checked on a fixed-seed fuzz of the
 * characters that end a token, Unicode spaces and surrogates included, and
 * on the decorations bounces put around addresses.
 */
import { describe, expect, it } from 'vitest';
import { addressesIn, cleanAddress } from '../../runners/bounce/addresses.js';

/** The definition addressesIn() implements. */
const TOKEN = /[^\s@<>()[\]",;:'`=]+@[^\s@<>()[\]",;:'`]+/gu;

function byExpression(text: string): string[] {
  const found: string[] = [];
  for (const match of text.matchAll(TOKEN)) {
    const address = cleanAddress(match[0]);
    if (address !== undefined) found.push(address);
  }
  return found;
}

/** A small deterministic generator (mulberry32), so a failure reproduces. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('addressesIn', () => {
  it('finds the addresses bounces write, decorated every way', () => {
    expect(addressesIn('<anne@example.org>: host mx said: 550 unknown <bob@example.net>')).toEqual(['anne@example.org', 'bob@example.net']);
    expect(addressesIn("SMTP=carl@example.org; 'dora@example.org' (erik@example.org) mailto:fay@example.org.")).toEqual([
      'carl@example.org',
      'dora@example.org',
      'erik@example.org',
      'fay@example.org',
    ]);
    expect(addressesIn('list-bounces+anne=example.org@lists.example.org')).toEqual(['example.org@lists.example.org']);
    expect(addressesIn('no address here, only @ signs @ and a@b')).toEqual([]);
  });

  it('finds exactly what its token expression finds (fixed-seed fuzz)', () => {
    const pieces = ['a', 'x.', '.org', '@', '@', ' ', '\n', '<', '>', '(', ')', '[', ']', '"', ',', ';', ':', "'", '`', '=', '\u00a0', '\u3000', '\u2028', '\ufeff', '\ud83d\ude00', '\ud800', 'é', '-', 'mailto:', '.', '\t', '+', 'example.com', 'anne'];
    const next = random(15);
    for (let i = 0; i < 50_000; i++) {
      let text = '';
      const length = 1 + Math.floor(next() * 25);
      for (let k = 0; k < length; k++) text += pieces[Math.floor(next() * pieces.length)];
      expect(addressesIn(text), JSON.stringify(text)).toEqual(byExpression(text));
    }
  });
});
