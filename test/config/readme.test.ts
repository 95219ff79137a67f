import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { configReference } from '../../src/cli/config-command.js';

describe('README', () => {
  it('documents every configuration knob exactly as the schema defines it', async () => {
    const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
    const start = readme.indexOf('-->', readme.indexOf('<!-- config-reference:start')) + 3;
    const end = readme.indexOf('<!-- config-reference:end -->');
    expect(start).toBeGreaterThan(3);
    expect(readme.slice(start, end).trim()).toBe(configReference().trim());
  });

  it('gives the two commands a newcomer runs', async () => {
    const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
    const firstScreen = readme.split('\n').slice(0, 25).join('\n');
    expect(firstScreen).toContain('npm install && npm start');
    expect(firstScreen).toContain('npm test');
  });
});
