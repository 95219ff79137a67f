import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from '../../src/config/duration.js';

describe('parseDuration', () => {
  it.each([
    ['30s', 30_000],
    ['15m', 900_000],
    ['12h', 43_200_000],
    ['7d', 604_800_000],
    ['2w', 1_209_600_000],
    ['1d12h', 129_600_000],
    ['0s', 0],
  ])('reads %s as %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', '7', 'd', '7x', '-1d', '1.5h', ' 7d', '7d ', '7D', '7 d', 'd7', '7dd'])('rejects %j with a message that quotes it and names the units', (text) => {
    expect(() => parseDuration(text)).toThrow(`invalid duration ${JSON.stringify(text)}: use a number and a unit (s, m, h, d, w)`);
  });

  it('rejects a duration too long to count in milliseconds exactly', () => {
    expect(() => parseDuration('99999999999999w')).toThrow('is too long');
  });
});

describe('formatDuration', () => {
  it.each([
    [300_000, '5m'],
    [14_400_000, '4h'],
    [432_000_000, '5d'],
    [1_500, '1500ms'],
  ])('writes %d ms as %s, which parses back to the same', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
    expect(parseDuration(text)).toBe(ms);
  });
});
