/**
 * The registries of pluggable parts (src/registry.ts): posting-chain rules,
 * chains, pipeline handlers, bounce detectors. Every implementing file is
 * registered (a file added without its registry line would silently never
 * run), every entry names a module that exists and says in one line what it
 * does, and the orders the runners rely on are today's.
 */
import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DETECTOR_REGISTRY, DETECTORS } from '../../runners/bounce/detectors/index.js';
import { APPROVED_CHAIN, CHAINS, chainOf, POSTING_CHAIN, UnknownChainError } from '../../runners/incoming/chain.js';
import { HANDLER_REGISTRY, HANDLERS } from '../../runners/incoming/pipeline.js';
import { RULES } from '../../runners/incoming/rules/index.js';
import { Registry, RegistryUnknownError, type RegistryEntry } from '../../src/registry.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function filesIn(dir: string, except: readonly string[] = []): string[] {
  return readdirSync(`${ROOT}${dir}`)
    .filter((name) => name.endsWith('.ts') && !except.includes(name))
    .map((name) => `${dir}/${name}`)
    .sort();
}

function checkEntries<T>(registry: Registry<T>): RegistryEntry<T>[] {
  const entries = registry.entries();
  for (const entry of entries) {
    expect(existsSync(`${ROOT}${entry.module}`), `${entry.name}: ${entry.module}`).toBe(true);
    expect(entry.description.length, entry.name).toBeGreaterThan(10);
    expect(entry.description, entry.name).not.toContain('\n');
  }
  return entries;
}

describe('registries', () => {
  it('posting-chain rules: every file in runners/incoming/rules is registered under its rule name, in today\'s chain order', () => {
    const entries = checkEntries(RULES);
    expect(entries.map((entry) => entry.module).sort()).toEqual(filesIn('runners/incoming/rules', ['index.ts']));
    for (const entry of entries) expect(entry.implementation.name).toBe(entry.name);
  });

  it('chains: `default` is the posting chain in its long-standing order (dmarc-mitigation after moderation, as Mailman), `approved` only the loop checks', () => {
    checkEntries(CHAINS);
    expect(CHAINS.names()).toEqual(['default', 'approved']);
    expect(POSTING_CHAIN.map((rule) => rule.name)).toEqual([
      'loop', 'max-hops', 'approved', 'no-from', 'from-addresses', 'overlong-lines', 'emergency', 'moderation', 'dmarc-mitigation',
      'unparseable', 'administrivia', 'size', 'implicit-destination', 'max-recipients', 'suspicious-header', 'no-subject',
    ]);
    expect(APPROVED_CHAIN.map((rule) => rule.name)).toEqual(['loop', 'max-hops']);
    expect(chainOf('default', 'dev@lists.example.org')).toBe(POSTING_CHAIN);
    expect(() => chainOf('nosuch', 'dev@lists.example.org')).toThrow(UnknownChainError);
  });

  it('pipeline handlers: every file in runners/incoming/handlers is registered under its file name', () => {
    const entries = checkEntries(HANDLER_REGISTRY);
    expect(entries.map((entry) => entry.module).sort()).toEqual(filesIn('runners/incoming/handlers'));
    for (const entry of entries) expect(entry.module).toBe(`runners/incoming/handlers/${entry.name}.ts`);
    expect(Object.keys(HANDLERS).sort()).toEqual(HANDLER_REGISTRY.names().sort());
  });

  it('bounce detectors: every detector file is registered, and DETECTORS runs them by `order`, then name', () => {
    const entries = checkEntries(DETECTOR_REGISTRY);
    expect(entries.map((entry) => entry.module).sort()).toEqual(filesIn('runners/bounce/detectors', ['index.ts', 'patterns.ts']));
    expect(DETECTORS.map((detector) => detector.name)).toEqual([
      'dsn', 'inline-dsn', 'amazon-ses', 'exim', 'apache-james', 'qmail', 'postfix', 'sendmail', 'exchange', 'domino', 'yahoo', 'aol', 'gmx',
      'fml', 'groupwise', 'smtp32', 'mailmarshal', 'simple-match', 'simple-warning', 'returned-original',
    ]);
    const orders = DETECTORS.map((detector) => detector.order);
    expect(orders).toEqual([...orders].sort((a, b) => a - b));
  });

  it('an unknown name is a RegistryUnknownError naming the valid ones', () => {
    expect(() => HANDLER_REGISTRY.check(['cleanse', 'bogus'])).toThrow(RegistryUnknownError);
    expect(() => HANDLER_REGISTRY.check(['bogus'])).toThrow(/unknown pipeline handler "bogus" \(known: cleanse, subject-prefix, /);
  });
});
