/**
 * Source rewrites the bundler (bundle-cli.ts) applies to packages it copies
 * into a bundle, so that a dependency a command seldom needs is require()d
 * when first used instead of when the package loads.
 *
 * Why: `bounce-scan FILE` is a one-shot command and mailparser costs about
 * 100 ms of CPU to load, more than half of it in dependencies that most
 * bounces never reach: html-to-text (only for an HTML-only message),
 * linkify-it and its TLD list (only when turning text into HTML, which the
 * bounce parser switches off), he (HTML escaping, same) and
 * encoding-japanese (only for ISO-2022-JP, Shift_JIS and EUC-JP text).
 *
 * Each rewrite names the exact text it replaces. mailparser is pinned
 * (3.9.31) and so is libmime through it; when an upgrade changes that text
 * the build stops with the rewrite's name (bundle-cli.ts checks that each
 * `replace` occurs exactly once) rather than ship a bundle that loads
 * everything eagerly or, worse, half of it.
 *
 * Every replacement keeps the binding's name and the members the file uses
 * of it; the `require()` moves into a function, where the bundler keeps it
 * (a package outside the bundle stays a `require()` at the place it is
 * called). Node caches the module after the first call.
 */

export interface LazyRequireRewrite {
  /** The package whose file is rewritten, as it is imported (`libmime`). */
  package: string;
  /** The file inside the package, `/`-separated. */
  file: string;
  /** The exact source text replaced; it must occur once in the file. */
  replace: string;
  with: string;
}

export const LAZY_REQUIRE_REWRITES: readonly LazyRequireRewrite[] = [
  {
    package: 'mailparser',
    file: 'lib/mail-parser.js',
    replace: "const { htmlToText } = require('html-to-text');",
    with: "const htmlToText = (...args) => require('html-to-text').htmlToText(...args);",
  },
  {
    package: 'mailparser',
    file: 'lib/mail-parser.js',
    replace: "const he = require('he');",
    // mail-parser.js uses he.encode only; decode too, so a future use does not call undefined.
    with: "const he = { encode: (...args) => require('he').encode(...args), decode: (...args) => require('he').decode(...args) };",
  },
  {
    package: 'mailparser',
    file: 'lib/mail-parser.js',
    replace: "const encodingJapanese = require('encoding-japanese');",
    with: "const encodingJapanese = { convert: (...args) => require('encoding-japanese').convert(...args) };",
  },
  {
    package: 'mailparser',
    file: 'lib/mail-parser.js',
    // The module configures its linkify instance at load (.tlds(tlds), .add(...), .set(...)): those calls are
    // recorded and replayed on the real instance when the first link is looked for (pretest or match).
    replace: "const linkify = require('linkify-it')();",
    with: [
      'const linkifySetup = [];',
      'let linkifyInstance;',
      'const linkifyReady = () => {',
      "  if (linkifyInstance === undefined) { linkifyInstance = require('linkify-it')(); for (const [method, args] of linkifySetup) linkifyInstance[method](...args.map((arg) => (arg === tlds ? require('tlds') : arg))); }",
      '  return linkifyInstance;',
      '};',
      'const linkify = {',
      "  tlds(...args) { linkifySetup.push(['tlds', args]); return linkify; },",
      "  add(...args) { linkifySetup.push(['add', args]); return linkify; },",
      "  set(...args) { linkifySetup.push(['set', args]); return linkify; },",
      '  pretest: (text) => linkifyReady().pretest(text),',
      '  test: (text) => linkifyReady().test(text),',
      '  match: (text) => linkifyReady().match(text),',
      '};',
    ].join('\n'),
  },
  {
    package: 'mailparser',
    file: 'lib/mail-parser.js',
    // A token standing for the TLD list in the recorded .tlds(tlds) call (replaced by the list at replay).
    replace: "const tlds = require('tlds');",
    with: "const tlds = Symbol('tlds');",
  },
  {
    package: 'libmime',
    file: 'lib/charset.js',
    replace: "const encodingJapanese = require('encoding-japanese');",
    with: "const encodingJapanese = { convert: (...args) => require('encoding-japanese').convert(...args) };",
  },
];
