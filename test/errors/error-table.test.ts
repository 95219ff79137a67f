/**
 * One table of codes (src/error-table.ts): the README's error table is
 * generated from it, every `'SY_*'` literal in the source is in it, every
 * entry is used, and each code is defined by one class only.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ERROR_TABLE, errorReference } from '../../src/error-table.js';
import { readmeSection } from '../support/readme-sections.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The table itself names every code; it is not a use of one. */
const TABLE_FILE = 'src/error-table.ts';

async function sourceFiles(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(join(ROOT, dir), { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...(await sourceFiles(path)));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) found.push(path);
  }
  return found;
}

/** Every source file of the package (not the tests) but the table, with its text. */
async function sources(): Promise<Array<{ file: string; text: string }>> {
  const files = (await Promise.all(['src', 'runners', 'queues'].map(sourceFiles))).flat().filter((file) => relative('.', file) !== TABLE_FILE);
  return Promise.all(files.map(async (file) => ({ file, text: await readFile(join(ROOT, file), 'utf8') })));
}

const LITERAL = /'(SY_[A-Z_]+)'/g;
/** Where a class fixes its code: `super('SY_X', ...)`, `new StoreError('SY_X', ...)`. */
const DEFINITION = /(?:super|new [A-Za-z]+Error)\(\s*'(SY_[A-Z_]+)'/g;

describe('the error table', () => {
  it('is the README error table, exactly (regenerate with `npm run docs`)', async () => {
    const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
    expect(readmeSection(readme, 'error-reference')).toBe(errorReference().trim());
  });

  it("holds every 'SY_*' code literal found in src/, runners/ and queues/", async () => {
    const missing: string[] = [];
    for (const { file, text } of await sources()) {
      for (const [, code] of text.matchAll(LITERAL)) if (!Object.hasOwn(ERROR_TABLE, code!)) missing.push(`${code} (${file})`);
    }
    expect(missing).toEqual([]);
  });

  it('has no entry that the source does not use', async () => {
    const used = new Set<string>();
    for (const { text } of await sources()) for (const [, code] of text.matchAll(LITERAL)) used.add(code!);
    expect(Object.keys(ERROR_TABLE).filter((code) => !used.has(code))).toEqual([]);
  });

  it('gives each code one class: no code is fixed by two constructors', async () => {
    const definedIn = new Map<string, string[]>();
    for (const { file, text } of await sources()) {
      for (const [, code] of text.matchAll(DEFINITION)) definedIn.set(code!, [...(definedIn.get(code!) ?? []), file]);
    }
    expect(definedIn.size).toBeGreaterThan(40);
    expect([...definedIn].filter(([, files]) => files.length > 1)).toEqual([]);
  });

  it('has a meaning for every code, and the exit codes of the CLI only', () => {
    for (const [code, entry] of Object.entries(ERROR_TABLE)) {
      expect(code).toMatch(/^SY_[A-Z_]+$/);
      expect(entry.meaning.length, code).toBeGreaterThan(10);
      expect([1, 2, 3], code).toContain(entry.exitCode);
    }
    // One meaning, one code: the old name of an unknown list is gone.
    expect(Object.hasOwn(ERROR_TABLE, 'SY_UNKNOWN_LIST')).toBe(false);
  });
});
