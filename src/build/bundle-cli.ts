/**
 * The second step of the build (`npm run build`: `tsc`, then this): bundle
 * the hot CLI paths of dist/ into one CommonJS file each, so that a command
 * run once per message (`inject`, under the MTA's pipe) loads one file
 * instead of thirty ES modules. What that saves, measured with
 * `npm run bench -- cli`: the ES module loader's resolve, read, compile and
 * link of every module, and the ESM facades of node:fs and node:crypto,
 * which evaluate every lazy getter of those built-ins (node:fs's ReadStream
 * drags in the whole streams stack); require() of a built-in does not.
 *
 * What goes into a bundle: the entry and every module it imports
 * statically, plus the modules the entry itself loads with `import()`
 * (inject.ts defers its imports only to keep the unbundled start short),
 * plus the packages the spec names in `inline` (bounce-scan: postal-mime).
 * Left out, and loaded from dist/ as before when reached:
 *   - every other package (better-sqlite3 and its native addon, zod, ...):
 *     `require`d; one an inlined package requires is named by the path that
 *     package would have resolved (its own nested copy, if it has one);
 *   - an `import()` anywhere else (config-cache.ts loading load.ts and zod on
 *     a cache miss, the store loading the list settings schema): kept as an
 *     `import()` of the module's dist/ file, so it stays lazy.
 *
 * A whole-program bundle differs in two ways: a runner bundle (a spec with
 * `runner`: src/master/runner-process.ts, one per built-in runner, what the
 * master forks ten of at every start) and the `cli` bundle (`whole`: every
 * command but inject, the master's own process among them, src/cli/main.ts). Every `import()` of our modules is inside the bundle: a
 * runner loads much of its code lazily (the scheduler's jobs, the HTTP
 * service's setting registries), and a module both in the bundle and loaded
 * from dist/ would be two modules, with two of every class that
 * `instanceof` checks (an error thrown by the bundle's store and tested by
 * a dist/ use case). And a package is require()d when the first module that
 * imports it runs, not when the bundle does: rolldown hoists an external's
 * require() to the top of the bundle, so each is imported through a small
 * CommonJS module of its own (LAZY_REQUIRE), which rolldown runs where the
 * importer runs; a runner still starts without the packages it did not load
 * unbundled (test/master/runner-imports.test.ts). Modules reached only by
 * `import()` run when reached, as unbundled (rolldown wraps them).
 *
 * In a bundled module `import.meta.url` is the URL of its own dist/ file,
 * not the bundle's: module-relative paths (config-cache.ts keys its cache on
 * the files of the configuration code, CONFIG_MODULES) mean what they mean
 * unbundled, and a bundled and an unbundled `inject` share one cache.
 *
 * Each bundle `dist/src/cli/NAME.bundle.cjs` has a manifest
 * `NAME.bundle.json`: the size and mtime of every dist/ file it was built
 * from, and of itself. src/cli/bundles.ts loads the bundle only while all
 * of them are unchanged, else the unbundled modules (a `tsc` alone after an
 * edit leaves the bundle stale: slower, never wrong).
 *
 * Beside it, `NAME.bundle.v8cache`: V8's code cache of the compiled bundle,
 * which src/cli/bundles.ts passes to V8 (checked by V8 against the source).
 * An `import()` left in the output (of a module outside the bundle) is
 * rewritten to `__switchyardImport()`, the loader runBundle() passes in.
 *
 * Files: all written to a temporary name and renamed, the manifest last;
 * killed in between, the manifest no longer matches the bundle and the
 * unbundled modules are used until the next build.
 *
 *     node dist/src/build/bundle-cli.js [DIST]
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { rolldown } from 'rolldown';
import { Script } from 'node:vm';
import { BUNDLE_DIR, BUNDLES, bundlePath, codeCachePath, fileStamp, MANIFEST_FORMAT, manifestPath, wrapBundle, type BundleManifest, type BundleSpec } from '../cli/bundles.js';

/** A relative module specifier from the bundle's directory to `file`. */
function specifierFrom(dir: string, file: string): string {
  const path = relative(dir, file).split(sep).join('/');
  return path.startsWith('.') ? path : `./${path}`;
}

const isPackage = (source: string): boolean => !source.startsWith('.') && !source.startsWith('/');

/** `@scope/name` or `name` of a package specifier (`@zone-eu/mailsplit/lib/x` -> `@zone-eu/mailsplit`). */
function packageName(source: string): string {
  const parts = source.split('/');
  return source.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

const isBuiltin = (source: string): boolean => source.startsWith('node:') || builtinModules.includes(packageName(source));

/**
 * The specifier the bundle requires for a package an inlined package's file
 * imports: the bare name when the bundle's directory resolves it to the same
 * file, else the path from the bundle to the file the importer resolves
 * (mailparser's own nodemailer, nested in its node_modules).
 */
function externalFromInlined(source: string, importer: string, outFile: string): string {
  if (isBuiltin(source)) return source;
  const wanted = createRequire(importer).resolve(source);
  let fromBundle: string | undefined;
  try {
    fromBundle = createRequire(outFile).resolve(source);
  } catch {
    fromBundle = undefined;
  }
  return fromBundle === wanted ? source : specifierFrom(dirname(outFile), wanted);
}

/** The bundle loader (dist/-relative), which no bundle holds (see resolveId). */
const LOADER = 'src/cli/bundles.js';

/** Prefix of the ids of lazyRequire() modules. */
const LAZY_REQUIRE = '\0switchyard-require:';

/** The id of a runner bundle's entry, which exists only in the build (runnerEntry()). */
const RUNNER_ENTRY = '\0switchyard-runner-entry';

/**
 * A runner bundle's entry: what runner-process.ts takes from it
 * (RunnerBundle in src/cli/bundles.ts). The runner module is imported
 * lazily, as runner-main.ts imports it unbundled: after the first heartbeat.
 */
function runnerEntry(main: string, runner: string): string {
  return `export { runnerProcessMain } from ${JSON.stringify(main)};\nexport const loadRunner = () => import(${JSON.stringify(runner)});\n`;
}

/** Build one bundle and its manifest from the modules under `dist`. */
export async function bundle(dist: string, spec: BundleSpec): Promise<{ file: string; modules: string[] }> {
  const outDir = join(dist, BUNDLE_DIR);
  const out = bundlePath(spec.name, dist);
  const entry = join(dist, spec.entry);
  const modules = new Set<string>();
  const inline = new Set(spec.inline ?? []);
  const inlined = (id: string): boolean => id.split(sep).includes('node_modules');
  // A runner bundle's entry: runner-main.js's export and the runner module, loaded lazily (see runnerEntry()).
  const input = spec.runner === undefined ? entry : RUNNER_ENTRY;
  const whole = spec.whole === true || spec.runner !== undefined;
  const build = await rolldown({
    input,
    platform: 'node',
    logLevel: 'warn',
    plugins: [
      {
        name: 'switchyard-externals',
        resolveId(source, importer, extra) {
          if (importer === undefined) return source === RUNNER_ENTRY ? source : null;
          if (isPackage(source)) {
            // An inlined package is resolved (and copied) by rolldown, from wherever it is imported.
            if (inline.has(packageName(source))) return null;
            const id = inlined(importer) ? externalFromInlined(source, importer, out) : source;
            // In a runner bundle, a package one of our modules imports statically is required when that module first runs (see LAZY_REQUIRE).
            if (whole && !isBuiltin(source) && extra.kind === 'import-statement' && !importer.startsWith(LAZY_REQUIRE)) return `${LAZY_REQUIRE}${id}`;
            return { id, external: true };
          }
          // The bundle loader stays outside every bundle: it import()s modules, which code run by node:vm cannot (and main.ts has loaded it already).
          if (extra.kind === 'dynamic-import' && resolve(dirname(importer), source) === join(dist, LOADER)) return { id: specifierFrom(outDir, join(dist, LOADER)), external: true };
          // import() outside the entry stays lazy: the dist/ module, loaded when reached. In a whole-program bundle, inside (see the module comment).
          if (extra.kind === 'dynamic-import' && importer !== entry && !whole) return { id: specifierFrom(outDir, resolve(dirname(importer), source)), external: true };
          return null;
        },
        load(id) {
          if (id.startsWith(LAZY_REQUIRE)) return { code: `module.exports = require(${JSON.stringify(id.slice(LAZY_REQUIRE.length))});\n`, moduleType: 'js' };
          return id === RUNNER_ENTRY && spec.runner !== undefined ? runnerEntry(entry, join(dist, spec.runner)) : null;
        },
        renderChunk(code) {
          // Every import() left in the output is of a module outside the bundle: through runBundle()'s loader.
          return code.replace(/\bimport\((?=["'])/g, '__switchyardImport(');
        },
        transform(code, id) {
          if (inlined(id) && !id.startsWith('\0')) {
            // A file of an inlined package: in the manifest, as it is.
            modules.add(id);
            return null;
          }
          // Our modules only: not rolldown's own runtime (a virtual `\0` id).
          if (!id.startsWith(dist + sep)) return null;
          modules.add(id);
          // Each module keeps its own URL (see the module comment); __switchyardModuleUrl is defined in the banner.
          return code.includes('import.meta.url') ? code.replaceAll('import.meta.url', `__switchyardModuleUrl(${JSON.stringify(specifierFrom(outDir, id))})`) : null;
        },
      },
    ],
  });
  const temp = `${out}.${process.pid}.tmp`;
  const cacheTemp = `${codeCachePath(spec.name, dist)}.${process.pid}.tmp`;
  await build.write({
    file: temp,
    format: 'cjs',
    codeSplitting: false,
    postBanner: `// Generated by src/build/bundle-cli.ts from dist/${spec.entry}${spec.runner === undefined ? '' : ` with dist/${spec.runner}`} and the modules they load; do not edit.\nconst __switchyardModuleUrl = (path) => require('node:url').pathToFileURL(require('node:path').join(__dirname, path)).href;`,
  });
  await build.close();
  const text = readFileSync(temp, 'utf8');
  if (/\bimport\.meta\b/.test(text)) throw new Error(`${spec.entry}: import.meta other than import.meta.url left in the bundle (CommonJS has none)`);
  // `import(specifier)`, `import(new URL(...))`: an identifier after the parenthesis (a string's or a comment's "import(" rarely has one).
  const computed = /\bimport\((?=[A-Za-z_$])[^\n]*/.exec(text);
  if (computed !== null) throw new Error(`${spec.entry}: an import() of a computed specifier left in the bundle, which code run by node:vm cannot do: ${computed[0].slice(0, 120)}`);
  // The code cache of the compiled wrapper: what runBundle() compiles, byte for byte.
  writeFileSync(cacheTemp, new Script(wrapBundle(text), { filename: out }).createCachedData());
  renameSync(temp, out);
  renameSync(cacheTemp, codeCachePath(spec.name, dist));
  const sorted = [...modules].sort();
  const files: Record<string, string> = {};
  for (const file of [...sorted, out]) files[relative(dist, file).split(sep).join('/')] = fileStamp(file);
  const manifest = manifestPath(spec.name, dist);
  writeFileSync(`${manifest}.${process.pid}.tmp`, `${JSON.stringify({ format: MANIFEST_FORMAT, entry: spec.entry, files } satisfies BundleManifest, null, 1)}\n`);
  renameSync(`${manifest}.${process.pid}.tmp`, manifest);
  return { file: out, modules: sorted };
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dist = resolve(process.argv[2] ?? fileURLToPath(new URL('../..', import.meta.url)));
  for (const spec of BUNDLES) {
    const { file, modules } = await bundle(dist, spec);
    process.stdout.write(`bundled ${relative(process.cwd(), file)} (${modules.length} modules)\n`);
  }
}
