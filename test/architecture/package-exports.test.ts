/**
 * What the package offers someone writing their own runner, service or
 * handler, imported the way they would: by the package's own name through
 * package.json "exports" (the self-reference; the built dist/ files), each
 * entry point with its type declarations.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface ExportEntry {
  types: string;
  default: string;
}

const EXPECTED: Record<string, { functions: string[]; declared: string[] }> = {
  './runners': {
    functions: ['Runner', 'StoreRunner', 'Service', 'RetryRunner', 'RunnerError', 'TemporaryFailure'],
    declared: ['Runner', 'StoreRunner', 'Service', 'RunnerOptions', 'ServiceOptions', 'EntryContext', 'Handler', 'PipelineContext', 'Rule', 'Detector', 'QUEUES', 'LIST_SETTING_REGISTRIES'],
  },
  './app': {
    functions: ['createList', 'setListValue', 'addMember', 'decideHeld', 'lookupList', 'AppEvents'],
    declared: ['AppContext', 'SettingRegistries'],
  },
  './store': {
    functions: ['openStore', 'parseSettings', 'StoreError', 'ListUnknownError'],
    declared: ['Store', 'MailingList', 'Member', 'HeldMessage', 'ListSettings'],
  },
  './mail': {
    functions: ['RawMessage', 'formatField', 'assertHeaderValue', 'HeaderValueError'],
    declared: ['RawMessage', 'HeaderField', 'formatField'],
  },
};

async function declarations(file: string, seen = new Set<string>()): Promise<string> {
  // The entry's .d.ts with the modules it re-exports, so a name declared one module further is found.
  if (seen.has(file)) return '';
  seen.add(file);
  const text = await readFile(file, 'utf8');
  let all = text;
  for (const match of text.matchAll(/from '(\.[^']+)\.js'/g)) all += await declarations(join(file, '..', `${match[1]}.d.ts`), seen);
  return all;
}

describe('package exports', () => {
  it('package.json exports switchyard/runners, /app, /store and /mail, each with type declarations that exist', async () => {
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { name: string; exports: Record<string, ExportEntry> };
    expect(pkg.name).toBe('switchyard');
    for (const entry of Object.keys(EXPECTED)) {
      expect(pkg.exports[entry], entry).toMatchObject({ types: expect.stringMatching(/\.d\.ts$/), default: expect.stringMatching(/\.js$/) });
      const types = await declarations(join(ROOT, pkg.exports[entry]!.types));
      for (const name of EXPECTED[entry]!.declared) expect(types, `${entry} declares ${name}`).toMatch(new RegExp(`\\b${name}\\b`));
    }
  });

  it.each(Object.keys(EXPECTED).map((entry) => `switchyard${entry.slice(1)}`))('import("%s") by the package name gives its named exports', async (specifier) => {
    const entry = `.${specifier.slice('switchyard'.length)}`;
    const module = (await import(/* @vite-ignore */ specifier)) as Record<string, unknown>;
    for (const name of EXPECTED[entry]!.functions) expect(typeof module[name], `${specifier} ${name}`).toBe('function');
  });

  it('a runner written against switchyard/runners extends the same base class the master runs', async () => {
    const runners = (await import('switchyard/runners')) as typeof import('../../runners/index.js');
    expect(Object.getPrototypeOf(runners.StoreRunner)).toBe(runners.Runner);
    expect(runners.STANDARD_QUEUES).toContain('in');
    expect(runners.BUILTIN_RUNNERS.incoming?.queue).toBe(runners.IN_QUEUE);
    expect(() => runners.LIST_SETTING_REGISTRIES.postingPipeline!.check(['bogus'])).toThrow(/unknown pipeline handler "bogus"/);
  });
});
