/**
 * Is this process a `switchyard inject`? Apart from inject.ts so that
 * main.ts can decide before loading inject (from its bundle, see
 * bundles.ts) or the commander tree. No imports.
 */

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
