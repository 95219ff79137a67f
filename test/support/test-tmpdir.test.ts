import { statSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { testTmpDir } from './test-tmpdir.js';

describe('the test suite\'s temporary directory', () => {
  it('is what SWITCHYARD_TEST_TMPDIR says, and the system default for "os"', () => {
    expect(testTmpDir({ SWITCHYARD_TEST_TMPDIR: '/srv/scratch' })).toBe('/srv/scratch');
    expect(testTmpDir({ SWITCHYARD_TEST_TMPDIR: 'os' })).toBeUndefined();
  });

  it('is a tmpfs directory that anyone may create in (like /tmp), or the default when there is none with room', () => {
    const chosen = testTmpDir({});
    if (chosen === undefined) {
      // No tmpfs with room: the workers keep the system's default.
      expect(process.env.TMPDIR ?? '').not.toMatch(/switchyard-tests/);
      return;
    }
    expect(statfsSync(chosen).type).toBe(0x01021994);
    expect(statSync(chosen).mode & 0o7777).toBe(0o1777);
  });

  it('is the TMPDIR this worker (and every process a test starts) runs with, unless overridden', () => {
    const chosen = testTmpDir();
    expect(tmpdir()).toBe(chosen ?? tmpdir());
    if (chosen !== undefined) expect(process.env.TMPDIR).toBe(chosen);
  });
});
