#!/usr/bin/env node
/**
 * One supervised process: the master forks this once per queue runner per
 * slice, and once per service (runners/service.ts: no queue, one slice).
 *
 *     node runner-process.js --home DIR --runner NAME --slice S --slices N --heartbeat MS [--stdout]
 *
 * What it does is runner-main.ts's (supervision, signals, IPC, exit codes).
 * This file only picks where that code comes from: a master starts ten of
 * these at every start and restart, and most of each one's start-up was
 * Node's ES module loader resolving, reading, compiling and linking a
 * hundred modules. So a built-in runner run under a master (its module
 * named in the validated configuration the master passes, CONFIG_JSON_ENV)
 * runs from its bundle `runner-NAME` (src/cli/bundles.ts, made by
 * src/build/bundle-cli.ts: runner-main.ts, the runner and every module of
 * ours they load, in one file with V8's code cache). Anything else (a
 * runner from another module, whose Runner base class must be the one it
 * imports from dist/; no configuration from a master; a bundle that is
 * missing, stale or fails to load) runs from the unbundled modules: slower,
 * the same.
 *
 * Built-ins through require(), not `import` (see src/cli/main.ts).
 */
import { createRequire } from 'node:module';
import type * as Url from 'node:url';
import type * as Util from 'node:util';
import { loadRunnerBundle } from '../cli/bundles.js';
import { errorCode } from '../errors.js';
import type { RunnerModuleLoader } from './runner-main.js';
import { CONFIG_JSON_ENV } from './supervisor-env.js';

const require = createRequire(import.meta.url);
const { pathToFileURL } = require('node:url') as typeof Url;
const { parseArgs } = require('node:util') as typeof Util;

/** The module of the runner `--runner` names, from the master's validated configuration; undefined without one. */
function runnerModuleFromMaster(): string | undefined {
  const json = process.env[CONFIG_JSON_ENV];
  if (json === undefined) return undefined;
  try {
    // Not strict: the other options are runner-main.ts's to check.
    const name = parseArgs({ options: { runner: { type: 'string' } }, strict: false }).values.runner;
    const { runners } = JSON.parse(json) as { runners?: { name?: unknown; module?: unknown }[] };
    const module = runners?.find((runner) => runner.name === name)?.module;
    return typeof module === 'string' ? module : undefined;
  } catch {
    // runner-main.ts reports what is wrong with them.
    return undefined;
  }
}

const importModule: RunnerModuleLoader = (specifier) => import(specifier);

async function start(): Promise<number> {
  const module = runnerModuleFromMaster();
  const bundle = module === undefined ? undefined : loadRunnerBundle(module);
  if (bundle !== undefined && module !== undefined) {
    const bundled = pathToFileURL(module).href;
    return bundle.runnerProcessMain((specifier) => (specifier === bundled ? bundle.loadRunner() : importModule(specifier)));
  }
  const { runnerProcessMain } = await import('./runner-main.js');
  return runnerProcessMain(importModule);
}

start().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`switchyard runner: ${errorCode(error)}: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
