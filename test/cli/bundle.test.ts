/**
 * `inject` runs from its one-file bundle (src/build/bundle-cli.ts, loaded by
 * src/cli/bundles.ts), which the build makes after tsc. A missing or stale
 * bundle is not an error (main.ts falls back to the unbundled modules), so
 * nothing else would notice one: these tests fail instead. And the bundle
 * keeps inject's configuration cache honest: keyed on the dist/ files of the
 * configuration code, exactly as the unbundled module keys it.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLES, bundleState } from '../../src/cli/bundles.js';
import { classifyMessage } from '../../runners/bounce/classify.js';
import { runCli } from '../support/cli.js';
import { tracedCli } from '../support/traced-cli.js';

const DIST = fileURLToPath(new URL('../../dist/', import.meta.url));
const LIST = 'bundle@lists.example.org';
const MESSAGE = 'From: anne@example.net\nSubject: bundle\n\nbody\n';

let home: string;
let traces: string;

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'switchyard-bundle-'));
  traces = await mkdtemp(join(tmpdir(), 'switchyard-bundle-traces-'));
  const created = await runCli(['--home', home, 'lists', 'create', LIST]);
  expect(created.code, created.stderr).toBe(0);
});
afterAll(async () => {
  await rm(home, { recursive: true, force: true });
  await rm(traces, { recursive: true, force: true });
});

describe('the inject bundle', () => {
  it('is built from dist/ as it is now, as is every bundle (npm run build, and the test setup, make them after tsc)', () => {
    for (const { name } of BUNDLES) {
      const state = bundleState(name, DIST);
      expect(state, state.fresh ? name : `${name}: ${state.reason}`).toMatchObject({ fresh: true });
    }
  });

  it('is what the built CLI runs for inject: the bundle file, not the ES modules it was made from', async () => {
    const run = await tracedCli(traces, ['inject', '--home', home, '--recipient', LIST], MESSAGE);
    expect(run.code, run.stderr).toBe(0);
    const bundle = pathToFileURL(join(DIST, 'src/cli/inject.bundle.cjs')).href;
    expect(run.urls).toContain(bundle);
    const esm = ['src/cli/inject.js', 'src/config/config-cache.js', 'src/ingress/routing.js', 'src/store/open.js', 'src/ingress/ingress-writer.js'].map((path) => pathToFileURL(join(DIST, path)).href);
    expect(run.urls.filter((url) => esm.includes(url))).toEqual([]);
    const count = await runCli(['--home', home, 'queue', 'count', '--json']);
    expect(JSON.parse(count.stdout)).toMatchObject({ queues: expect.arrayContaining([expect.objectContaining({ queue: 'in', pck: 1 })]) });
  });

  it('refuses an unknown list with 67 (EX_NOUSER) from the bundle too', async () => {
    const run = await tracedCli(traces, ['inject', '--home', home, '--recipient', 'nobody@lists.example.org'], MESSAGE);
    expect(run.code).toBe(67);
    expect(run.stderr).toContain('SY_RECIPIENT_UNKNOWN');
    expect(run.urls).toContain(pathToFileURL(join(DIST, 'src/cli/inject.bundle.cjs')).href);
  });

  it('keys the configuration cache on the dist/ files of the configuration code, as the unbundled module does', async () => {
    // The home's cache, written by the bundled inject above (no switchyard.toml: cached at once).
    const cachePath = join(home, 'config-cache.json');
    expect(existsSync(cachePath)).toBe(true);
    const written = (JSON.parse(await readFile(cachePath, 'utf8')) as { key: string }).key;
    const unbundled = (await import(pathToFileURL(join(DIST, 'src/config/config-cache.js')).href)) as typeof import('../../src/config/config-cache.js');
    const expected = await unbundled.configCacheKey(join(home, 'switchyard.toml'));
    expect(written).toBe(expected);
    // Every configuration module was found where the key looks: none is `absent` (a bundle resolving them from its own folder would be).
    expect((JSON.parse(expected) as { code: string[] }).code).not.toContain('absent');
  });
});

describe('the cli bundle', () => {
  it('is what the built CLI runs for every other command: the bundle file, not the ES modules it was made from', async () => {
    const run = await tracedCli(traces, ['--home', home, 'lists', 'list', '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.urls).toContain(pathToFileURL(join(DIST, 'src/cli/cli.bundle.cjs')).href);
    const esm = ['src/cli/program.js', 'src/cli/lists-command.js', 'src/app/lists.js', 'src/store/open.js'].map((path) => pathToFileURL(join(DIST, path)).href);
    expect(run.urls.filter((url) => esm.includes(url))).toEqual([]);
    // And it does what the command does.
    const listed = await runCli(['--home', home, 'lists', 'list', '--json']);
    expect(listed.stdout).toContain(LIST);
  });
});

describe('the bounce-scan bundle', () => {
  it('is what the built CLI runs for bounce-scan (test/bounce/cli.test.ts checks what it prints)', async () => {
    const corpus = fileURLToPath(new URL('../bounce/corpus/dsn-postfix-user-unknown.eml', import.meta.url));
    const run = await tracedCli(traces, ['--home', home, 'bounce-scan', corpus]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.urls).toContain(pathToFileURL(join(DIST, 'src/cli/bounce-scan.bundle.cjs')).href);
    const esm = ['src/cli/bounce-scan-command.js', 'runners/bounce/classify.js'].map((path) => pathToFileURL(join(DIST, path)).href);
    expect(run.urls.filter((url) => esm.includes(url))).toEqual([]);
  });
});

/**
 * The bounce-scan bundle holds a copy of postal-mime (the parser the
 * classifier uses) and loads no other MIME package: a DSN, an HTML-only
 * bounce and an ISO-2022-JP one each answer what the unbundled classifier
 * answers for the same bytes.
 */
describe('the bounce-scan bundle', () => {
  const OTHER_PARSERS = ['pkg:mailparser', 'pkg:libmime', 'pkg:@zone-eu/mailsplit', 'pkg:html-to-text'];
  const corpus = (name: string): string => fileURLToPath(new URL(`../bounce/corpus/${name}`, import.meta.url));

  async function scanBundled(file: string): Promise<{ loaded: string[]; urls: string[]; recipients: unknown }> {
    const traced = await tracedCli(traces, ['--home', home, 'bounce-scan', file]);
    expect(traced.code, traced.stderr).toBe(0);
    expect(traced.urls).toContain(pathToFileURL(join(DIST, 'src/cli/bounce-scan.bundle.cjs')).href);
    const printed = await runCli(['--home', home, 'bounce-scan', '--json', file]);
    expect(printed.code, printed.stderr).toBe(0);
    return { loaded: traced.loaded, urls: traced.urls, recipients: (JSON.parse(printed.stdout) as { recipients: unknown }).recipients };
  }

  async function scanUnbundled(file: string): Promise<unknown> {
    const result = await classifyMessage(await readFile(file));
    return JSON.parse(JSON.stringify(result.recipients));
  }

  for (const [name, file, expected] of [
    ['a plain DSN', 'dsn-postfix-user-unknown.eml', '@'],
    ['a bounce with only an HTML part', 'outlook-com-html-only.eml', 'jack_w@outlook.com'],
    ['ISO-2022-JP text', 'fml-not-member.eml', 'ml@fml.example.jp'],
  ] as const) {
    it(`carries postal-mime inside, loads no MIME package from node_modules, and classifies ${name} as the unbundled classifier does`, async () => {
      const run = await scanBundled(corpus(file));
      // postal-mime comes from inside the bundle, never from node_modules; no other MIME package is loaded.
      expect(run.loaded).toContain('pkg:postal-mime');
      expect(run.urls.filter((url) => url.includes('/node_modules/postal-mime/'))).toEqual([]);
      expect(run.loaded.filter((loaded) => OTHER_PARSERS.includes(loaded))).toEqual([]);
      expect(run.recipients).toEqual(await scanUnbundled(corpus(file)));
      expect(JSON.stringify(run.recipients)).toContain(expected);
    });
  }
});
