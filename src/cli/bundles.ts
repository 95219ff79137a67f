/**
 * Loading a bundled command: `dist/src/cli/NAME.bundle.cjs`, which the
 * build's second step (src/build/bundle-cli.ts, `npm run build`) makes from
 * the command's dist/ modules, so that a command run once per message
 * (`inject`) loads one file instead of thirty ES modules.
 *
 * The bundle is a copy: it is used only while its manifest
 * (`NAME.bundle.json`: size and mtime of every dist/ file it was made from,
 * and of itself) matches dist/ as it is. After a `tsc` alone (an edit
 * rebuilt some of those files) or without the bundle step, the command runs
 * from its unbundled modules: slower, never stale. test/cli/bundle.test.ts
 * checks that a built `inject` does run from its bundle.
 *
 * A bundle is run as a CommonJS module compiled with V8's code cache
 * (`NAME.bundle.v8cache`, made by the build; compiling the bundle's source
 * would cost about 5 ms of every message). V8 checks the cache against the
 * source and its own version and flags, and compiles afresh when they
 * differ. The `import()` of an ES module left out of the bundle goes through
 * a loader passed in (runBundle): a script compiled by node:vm cannot
 * import() on its own in Node 20.
 *
 * Loaded by main.ts at every start: node built-ins only, through require()
 * (an ES import of node:fs would evaluate every lazy getter of its ESM
 * facade, the streams stack among them).
 */
import { createRequire, Module } from 'node:module';
import type * as Fs from 'node:fs';
import type * as Path from 'node:path';
import type * as Url from 'node:url';
import type * as Vm from 'node:vm';

const require = createRequire(import.meta.url);
const { readFileSync, statSync } = require('node:fs') as typeof Fs;
const { dirname, join } = require('node:path') as typeof Path;
const { fileURLToPath, pathToFileURL } = require('node:url') as typeof Url;
const { Script } = require('node:vm') as typeof Vm;

export interface BundleSpec {
  /** The bundle's name: `dist/src/cli/NAME.bundle.cjs`. */
  name: string;
  /** The entry module, relative to dist/. */
  entry: string;
  /** Packages copied into the bundle instead of require()d. */
  inline?: readonly string[];
  /**
   * A runner bundle: the built-in runner module (relative to dist/) it holds
   * beside its entry, src/master/runner-main.js; it exports
   * `runnerProcessMain` and `loadRunner()` (RunnerBundle), and every
   * `import()` of our modules in it is inlined (see src/build/bundle-cli.ts).
   */
  runner?: string;
  /** The whole program: every `import()` of our modules inlined, each package require()d when its importer first runs (runner bundles are too; see src/build/bundle-cli.ts). */
  whole?: boolean;
}

/** What a runner bundle exports (src/master/runner-process.ts runs it). */
export interface RunnerBundle {
  runnerProcessMain: (loadModule: (specifier: string) => Promise<unknown>) => Promise<number>;
  /** The runner's module, from inside the bundle. */
  loadRunner: () => Promise<unknown>;
}

/**
 * The built-in runner modules (runners/builtin.ts, whose zod this module
 * must not load; test/build/bundle-cli.test.ts checks the two agree), each
 * bundled with src/master/runner-main.js as `runner-NAME`: what the master
 * forks (runner-process.ts) loads one file instead of a hundred modules.
 */
export const RUNNER_MODULES: readonly string[] = ['retry', 'archive', 'outgoing', 'lmtp', 'scheduler', 'http', 'incoming', 'bounce', 'command', 'virgin'].map((name) => `runners/${name}.js`);

/**
 * The runners that load zod as they start (the others load it with their
 * first entry, if at all: test/master/runner-imports.test.ts): their bundles
 * hold a copy of it, a tenth of a second less of each start than zod's
 * hundred CommonJS files. Only theirs: inside a bundle, when a package is
 * first run cannot be traced, and that test should keep seeing it.
 */
const ZOD_AT_START = ['runners/incoming.js', 'runners/outgoing.js', 'runners/http.js'];

const runnerBundleName = (module: string): string => `runner-${module.replace(/^runners\//, '').replace(/\.js$/, '')}`;

/** The bundled commands, which src/build/bundle-cli.ts makes and loadBundled() loads by name. */
export const BUNDLES: readonly BundleSpec[] = [
  { name: 'inject', entry: 'src/cli/inject.js' },
  // The classifier, its detectors and postal-mime in one file.
  { name: 'bounce-scan', entry: 'src/cli/bounce-scan-command.js', inline: ['postal-mime'] },
  // Every other command: the commander tree and, inside, every command module (each run only when its command is).
  { name: 'cli', entry: 'src/cli/program.js', whole: true },
  ...RUNNER_MODULES.map((runner) => ({ name: runnerBundleName(runner), entry: 'src/master/runner-main.js', runner, ...(ZOD_AT_START.includes(runner) ? { inline: ['zod'] } : {}) })),
];

/** Where the bundles and their manifests are, relative to dist/. */
export const BUNDLE_DIR = 'src/cli';
/** 2: stamps in mtimeMs (1 had mtimeNs); a manifest of another format is stale. */
export const MANIFEST_FORMAT = 2;

/** dist/ of this build (this module is dist/src/cli/bundles.js). */
const DIST = fileURLToPath(new URL('../../', import.meta.url));

export interface BundleManifest {
  format: number;
  /** The entry module, relative to dist/. */
  entry: string;
  /** dist/-relative path -> fileStamp() when the bundle was made; the bundle itself among them. */
  files: Record<string, string>;
}

export type BundleState = { fresh: true; bundle: string } | { fresh: false; reason: string };

/**
 * `size:mtimeMs` of a file, as a manifest records it. Not the bigint
 * mtimeNs: a bigint stat costs about twenty times a plain one, and a
 * command's or a runner's start checks a few hundred files (mtimeMs, a
 * double, still tells microseconds apart, finer than the file system's own
 * clock ticks).
 */
export function fileStamp(path: string): string {
  const facts = statSync(path);
  return `${facts.size}:${facts.mtimeMs}`;
}

export function bundlePath(name: string, dist: string = DIST): string {
  return join(dist, BUNDLE_DIR, `${name}.bundle.cjs`);
}

export function manifestPath(name: string, dist: string = DIST): string {
  return join(dist, BUNDLE_DIR, `${name}.bundle.json`);
}

export function codeCachePath(name: string, dist: string = DIST): string {
  return join(dist, BUNDLE_DIR, `${name}.bundle.v8cache`);
}

/** The function a bundle's source runs in: CommonJS's parameters, and `__switchyardImport` for what it loads with import(). */
export function wrapBundle(source: string): string {
  return `(function (exports, require, module, __filename, __dirname, __switchyardImport) {${source}\n})`;
}

/** Compile the bundle `file` (with V8's code cache `cachedData` when given) and run it as a CommonJS module: its exports. */
export function runBundle(file: string, cachedData?: Buffer): unknown {
  const script = new Script(wrapBundle(readFileSync(file, 'utf8')), { filename: file, ...(cachedData === undefined ? {} : { cachedData }) });
  const run = script.runInThisContext() as (...args: unknown[]) => void;
  const module = new Module(file);
  module.filename = file;
  const base = pathToFileURL(file);
  // A relative specifier names a dist/ module beside the bundle (src/build/bundle-cli.ts rewrites the bundle's import()s to this).
  const load = (specifier: string): Promise<unknown> => import(specifier.startsWith('.') ? new URL(specifier, base).href : specifier);
  run.call(module.exports, module.exports, createRequire(file), module, file, dirname(file), load);
  module.loaded = true;
  // In require's cache as if require()d: what a process has loaded stays visible (test/fixtures/trace-imports.ts).
  require.cache[file] = module;
  return module.exports;
}

/** Whether the bundle `name` under `dist` was made from dist/ as it is now, and if not, why. */
export function bundleState(name: string, dist: string = DIST): BundleState {
  let manifest: Partial<BundleManifest>;
  try {
    manifest = JSON.parse(readFileSync(manifestPath(name, dist), 'utf8')) as Partial<BundleManifest>;
  } catch (error) {
    return { fresh: false, reason: `no readable manifest ${manifestPath(name, dist)}: ${(error as Error).message}` };
  }
  if (manifest.format !== MANIFEST_FORMAT || typeof manifest.files !== 'object' || manifest.files === null) return { fresh: false, reason: `${manifestPath(name, dist)}: not a bundle manifest of format ${MANIFEST_FORMAT}` };
  const bundle = bundlePath(name, dist);
  if (manifest.files[`${BUNDLE_DIR}/${name}.bundle.cjs`] === undefined) return { fresh: false, reason: `${manifestPath(name, dist)} does not list the bundle` };
  for (const [file, stamp] of Object.entries(manifest.files)) {
    let now: string;
    try {
      now = fileStamp(join(dist, file));
    } catch {
      return { fresh: false, reason: `${file} is gone` };
    }
    if (now !== stamp) return { fresh: false, reason: `${file} changed after the bundle was made` };
  }
  return { fresh: true, bundle };
}

/**
 * Set to `1`, every command and runner process runs from the unbundled
 * modules: for tests that look at which of our modules a process loads
 * (in a bundle they are all one file), and for debugging.
 */
export const NO_BUNDLES_ENV = 'SWITCHYARD_NO_BUNDLES';

/** The exports of the bundle `name` when it is fresh and loads (and bundles are not switched off), else undefined. */
export function loadBundle(name: string): unknown {
  if (process.env[NO_BUNDLES_ENV] === '1') return undefined;
  const state = bundleState(name);
  if (!state.fresh) return undefined;
  try {
    let cachedData: Buffer | undefined;
    try {
      cachedData = readFileSync(codeCachePath(name));
    } catch {
      // No code cache: compiled from source.
    }
    return runBundle(state.bundle, cachedData);
  } catch {
    // The caller falls back to the modules it was made from.
    return undefined;
  }
}

/**
 * The command module `name`: its bundle when fresh, else `unbundled()`
 * (the same module from dist/). A bundle that fails to load is passed over
 * too: `inject` must not exit 1 (a bounce) for want of a faster copy.
 */
export async function loadBundled<T>(name: string, unbundled: () => Promise<T>): Promise<T> {
  const loaded = loadBundle(name);
  return loaded === undefined ? unbundled() : (loaded as T);
}

/** The runner bundle holding the runner module `module` (an absolute path) and fresh, else undefined. */
export function loadRunnerBundle(module: string): RunnerBundle | undefined {
  const runner = RUNNER_MODULES.find((candidate) => join(DIST, candidate) === module);
  if (runner === undefined) return undefined;
  const loaded = loadBundle(runnerBundleName(runner)) as Partial<RunnerBundle> | undefined;
  return typeof loaded?.runnerProcessMain === 'function' && typeof loaded.loadRunner === 'function' ? (loaded as RunnerBundle) : undefined;
}
