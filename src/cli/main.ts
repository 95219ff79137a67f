#!/usr/bin/env node
/**
 * The `switchyard` command's entry point. It dispatches before loading
 * anything heavy: `inject` runs once per message under the MTA, so it goes
 * straight to inject.ts, from its one-file bundle when the build made one
 * (bundles.ts; node built-ins only until it needs more); every other
 * command loads the commander tree in program.ts, from the `cli` bundle
 * when the build made one (program.ts and every command module in one
 * file, each module run only when its command needs it).
 *
 * Built-ins through require(), not `import`: the ESM facade of node:fs
 * evaluates every lazy getter of the module (ReadStream and the whole
 * streams stack with it), a cost every command would pay.
 */
import { createRequire } from 'node:module';
import type * as Fs from 'node:fs';
import type * as Url from 'node:url';

const require = createRequire(import.meta.url);
const { realpathSync } = require('node:fs') as typeof Fs;
const { fileURLToPath } = require('node:url') as typeof Url;

/** Is `argv` (process.argv) a call of `inject`? The global `--home DIR` may come first. */
export function isInjectCall(argv: readonly string[]): boolean {
  const args = argv.slice(2);
  let i = 0;
  while (i < args.length) {
    const arg = args[i]!;
    if (arg === '--home') i += 2;
    else if (arg.startsWith('--home=')) i += 1;
    else return arg === 'inject';
  }
  return false;
}

function isMainModule(): boolean {
  const entry = process.argv[1];
  if (entry === undefined) return false;
  try {
    // npm installs the bin as a symlink; import.meta.url is the real path.
    return realpathSync(entry) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
}

if (isMainModule()) {
  // Queue files are created 0660 and directories 0770 (the Postfix and Mailman
  // convention): members of the switchyard group may read the spool, others
  // nothing, whatever umask the operator's shell has.
  process.umask(0o007);
  if (isInjectCall(process.argv)) {
    const { loadBundled } = await import('./bundles.js');
    const { guardProcess, runInject } = await loadBundled('inject', () => import('./inject.js'));
    guardProcess();
    process.exitCode = await runInject(process.argv);
  } else {
    // The commander tree and every command from the `cli` bundle when fresh (the master's own process among them).
    const { loadBundled } = await import('./bundles.js');
    const { run } = await loadBundled('cli', () => import('./program.js'));
    // `switchyard queue show --raw ID | head` closes the pipe early: that is not an error.
    process.stdout.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') process.exit(0);
      throw error;
    });
    process.exitCode = await run();
  }
}
