/**
 * The import statements of every .ts file under queues/, runners/ and src/,
 * read with the TypeScript parser (static imports and re-exports, type-only
 * or not, and `import('...')` with a literal specifier), and the layering
 * rules between folders that test/architecture/layering.test.ts enforces.
 *
 * Run it to see the layering as it stands, folder by folder:
 *
 *     npx tsc -p tsconfig.json && node dist/test/architecture/imports.js [ROOT]
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

export const TOPS = ['queues', 'runners', 'src'] as const;

export interface Import {
  /** The importing file, relative to the root, with `/`. */
  from: string;
  /** The imported file (a .ts path relative to the root), or the package name for a bare specifier. */
  to: string;
  /** As written in the source. */
  specifier: string;
  /** `import type` / `export type`, or every named binding marked `type`: erased at run time. */
  typeOnly: boolean;
  /** `import('...')`: loaded when called, not when the importing module loads. */
  dynamic: boolean;
  /** The value names it binds (`*` for a namespace, `export *` or `import()`; names marked `type` left out; empty for a side-effect import). */
  names: string[];
  line: number;
}

function tsFiles(root: string, top: string): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(join(root, top), { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) {
      files.push(relative(root, join(entry.parentPath, entry.name)).split(sep).join('/'));
    }
  }
  return files.sort();
}

function target(file: string, specifier: string): string {
  if (!specifier.startsWith('.')) return specifier;
  return join(dirname(file), specifier).split(sep).join('/').replace(/\.js$/, '.ts');
}

function bindingNames(clause: ts.ImportClause | undefined): { names: string[]; typeOnly: boolean } {
  if (clause === undefined) return { names: [], typeOnly: false };
  const names: string[] = [];
  let allTypes = true;
  if (clause.name) {
    names.push('default');
    allTypes = false;
  }
  const bindings = clause.namedBindings;
  if (bindings && ts.isNamespaceImport(bindings)) {
    names.push('*');
    allTypes = false;
  } else if (bindings) {
    for (const element of bindings.elements) {
      if (element.isTypeOnly) continue;
      names.push((element.propertyName ?? element.name).text);
      allTypes = false;
    }
    if (bindings.elements.length === 0) allTypes = false;
  }
  return { names: clause.isTypeOnly ? [] : names, typeOnly: clause.isTypeOnly || allTypes };
}

/** Every import of one file. */
export function importsOf(root: string, file: string): Import[] {
  const source = ts.createSourceFile(file, readFileSync(join(root, file), 'utf8'), ts.ScriptTarget.ES2022, true);
  const found: Import[] = [];
  const add = (specifier: string, node: ts.Node, rest: Pick<Import, 'typeOnly' | 'dynamic' | 'names'>) =>
    found.push({ from: file, to: target(file, specifier), specifier, line: source.getLineAndCharacterOfPosition(node.getStart()).line + 1, ...rest });
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      add(node.moduleSpecifier.text, node, { ...bindingNames(node.importClause), dynamic: false });
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.exportClause;
      const names = clause && ts.isNamedExports(clause) ? clause.elements.filter((e) => !e.isTypeOnly).map((e) => (e.propertyName ?? e.name).text) : ['*'];
      const allTypes = clause !== undefined && ts.isNamedExports(clause) && clause.elements.length > 0 && clause.elements.every((e) => e.isTypeOnly);
      add(node.moduleSpecifier.text, node, { names, typeOnly: node.isTypeOnly || allTypes, dynamic: false });
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [argument] = node.arguments;
      if (argument && ts.isStringLiteralLike(argument)) add(argument.text, node, { names: ['*'], typeOnly: false, dynamic: true });
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      add(node.argument.literal.text, node, { names: ['*'], typeOnly: true, dynamic: false });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** Every import of every .ts file under queues/, runners/ and src/. */
export function allImports(root: string): Import[] {
  return TOPS.flatMap((top) => tsFiles(root, top)).flatMap((file) => importsOf(root, file));
}

/** The folder a file belongs to in the layering: `queues`, `runners`, `src/<name>` (or `src` for a file directly in it). */
export function layer(file: string): string {
  const parts = file.split('/');
  if (parts[0] === 'src') return parts.length > 2 ? `src/${parts[1]}` : 'src';
  return parts[0]!;
}

/** Folder -> folders it imports from (relative imports only), sorted. */
export function folderGraph(imports: readonly Import[]): Map<string, string[]> {
  const graph = new Map<string, Set<string>>();
  for (const imp of imports) {
    if (!imp.specifier.startsWith('.')) continue;
    const from = layer(imp.from);
    const to = layer(imp.to);
    if (from === to) continue;
    if (!graph.has(from)) graph.set(from, new Set());
    graph.get(from)!.add(to);
  }
  return new Map([...graph].sort(([a], [b]) => a.localeCompare(b)).map(([from, to]) => [from, [...to].sort()]));
}

/** The files a module loads when it is imported: static value imports, followed through (types and `import()` left out). */
export function loadedBy(imports: readonly Import[], start: string): Set<string> {
  const byFile = new Map<string, Import[]>();
  for (const imp of imports) {
    if (!byFile.has(imp.from)) byFile.set(imp.from, []);
    byFile.get(imp.from)!.push(imp);
  }
  const seen = new Set<string>([start]);
  const pending = [start];
  while (pending.length > 0) {
    for (const imp of byFile.get(pending.pop()!) ?? []) {
      if (imp.typeOnly || imp.dynamic || !imp.specifier.startsWith('.') || seen.has(imp.to)) continue;
      seen.add(imp.to);
      pending.push(imp.to);
    }
  }
  return seen;
}

const under = (prefix: string) => (file: string) => file.startsWith(`${prefix}/`);

export interface LayerRule {
  /** What the rule says, for the message. */
  says: string;
  /** Files the rule applies to. */
  applies(file: string): boolean;
  /** Why this import breaks the rule, or undefined when it does not. */
  breaks(imp: Import): string | undefined;
}

/** The names src/cli may take from src/store as values: opening it, and pure parsing and describing (no Store method is reached but through src/app). */
export const CLI_STORE_VALUES = new Set(['parseAddress', 'parseListAddress', 'ROLES', 'MODERATION_ACTIONS', 'SETTING_KEYS', 'settingDescription', 'settingKind', 'settingOptions']);
/** The only CLI files that open the store: for the application layer (withStore / withApp) and for ingress (inject). */
export const CLI_STORE_OPENERS = new Set(['src/cli/store-access.ts', 'src/cli/inject.ts']);

function forbid(from: string, says: string, targets: readonly string[], except: (imp: Import) => boolean = () => false): LayerRule {
  return {
    says,
    applies: under(from),
    breaks: (imp) => (imp.specifier.startsWith('.') && targets.some((t) => imp.to === t || imp.to.startsWith(`${t}/`)) && !except(imp) ? says : undefined),
  };
}

export const RULES: readonly LayerRule[] = [
  forbid('queues', 'queues/ is the switchboard and knows nothing of mail: it imports nothing from src/ or runners/', ['src', 'runners']),
  forbid('src/master', 'src/master supervises and never opens the store: it imports nothing from src/store or src/app', ['src/store', 'src/app']),
  forbid('src/mail', 'src/mail is message handling below every use case: it imports nothing from src/app, runners/ or src/cli', ['src/app', 'runners', 'src/cli']),
  forbid(
    'src/app',
    'src/app is the use cases: it imports nothing from src/cli or src/master, and from runners/ only the queue table (runners/queue-names.ts, and its zod-free names runners/queue-ids.ts)',
    ['src/cli', 'src/master', 'runners'],
    (imp) => imp.to === 'runners/queue-names.ts' || imp.to === 'runners/queue-ids.ts',
  ),
  forbid('src/store', 'src/store is the list store: it imports nothing from runners/, src/app or src/cli', ['runners', 'src/app', 'src/cli']),
  {
    says: 'src/cli changes the store only through src/app: from src/store it takes types, errors and the pure parsers (CLI_STORE_VALUES), and only store-access.ts and inject.ts open it',
    applies: under('src/cli'),
    breaks(imp) {
      if (!imp.specifier.startsWith('.') || !imp.to.startsWith('src/store/') || imp.typeOnly) return undefined;
      // An opener may import the opener module alone (src/store/open.ts: inject loads it lazily, without the rest of the store's exports).
      if (imp.to === 'src/store/open.ts' && CLI_STORE_OPENERS.has(imp.from)) return undefined;
      // The settings schema's describers (SETTING_KEYS, settingKind, ...) are in list-settings.ts, which index.ts leaves out (zod).
      if (imp.to !== 'src/store/index.ts' && imp.to !== 'src/store/list-settings.ts') return `${this.says}; import src/store/index.ts (or list-settings.ts for the settings schema), not ${imp.to}`;
      const bad = imp.names.filter((name) => {
        // An opener may load the store module lazily (inject starts without it): import('../store/index.js').
        if (name === 'openStore' || name === 'storeOptions' || (name === '*' && imp.dynamic)) return !CLI_STORE_OPENERS.has(imp.from);
        return !CLI_STORE_VALUES.has(name) && !/Error$/.test(name);
      });
      return bad.length === 0 ? undefined : `${this.says}; not ${bad.join(', ')}`;
    },
  },
];

export interface Violation {
  file: string;
  line: number;
  specifier: string;
  rule: string;
}

export function violations(imports: readonly Import[], rules: readonly LayerRule[] = RULES): Violation[] {
  const found: Violation[] = [];
  for (const imp of imports) {
    for (const rule of rules) {
      if (!rule.applies(imp.from)) continue;
      const why = rule.breaks(imp);
      if (why !== undefined) found.push({ file: imp.from, line: imp.line, specifier: imp.specifier, rule: why });
    }
  }
  return found;
}

export function formatViolation(v: Violation): string {
  return `${v.file}:${v.line} imports '${v.specifier}': ${v.rule}`;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = resolve(process.argv[2] ?? fileURLToPath(new URL('../../..', import.meta.url)));
  const imports = allImports(root);
  for (const [from, to] of folderGraph(imports)) process.stdout.write(`${from} -> ${to.join(', ')}\n`);
  const broken = violations(imports);
  process.stdout.write(broken.length === 0 ? 'layering rules: all kept\n' : `${broken.map(formatViolation).join('\n')}\n`);
  process.exitCode = broken.length === 0 ? 0 : 1;
}
