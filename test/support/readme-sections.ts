/**
 * The README's generated sections: each sits between
 * `<!-- NAME:start ... -->` and `<!-- NAME:end -->` and is produced by a
 * function of the source (the configuration table from the zod schema, the
 * error table from src/error-table.ts, the metrics' work counters from
 * src/work-counters.ts). Tests compare them (test/config/readme.test.ts,
 * test/errors/error-table.test.ts, test/http/metrics-counters.test.ts);
 * `npm run docs` rewrites them in place.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { configReference } from '../../src/cli/config-command.js';
import { errorReference } from '../../src/error-table.js';
import { countersReference } from '../../src/work-counters.js';

/** Each generated section's marker name and its content now. */
export const GENERATED_SECTIONS: Readonly<Record<string, () => string>> = {
  'config-reference': configReference,
  'error-reference': errorReference,
  'counters-reference': countersReference,
};

function bounds(readme: string, name: string): { start: number; end: number } {
  const open = readme.indexOf(`<!-- ${name}:start`);
  const end = readme.indexOf(`<!-- ${name}:end -->`);
  if (open < 0 || end < open) throw new Error(`README.md has no ${name} section (<!-- ${name}:start ... --> ... <!-- ${name}:end -->)`);
  return { start: readme.indexOf('-->', open) + 3, end };
}

/** The text of section `name` in `readme`, trimmed. */
export function readmeSection(readme: string, name: string): string {
  const { start, end } = bounds(readme, name);
  return readme.slice(start, end).trim();
}

/** `readme` with section `name` replaced by `content`. */
export function withReadmeSection(readme: string, name: string, content: string): string {
  const { start, end } = bounds(readme, name);
  return `${readme.slice(0, start)}\n${content.trim()}\n${readme.slice(end)}`;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  // `npm run docs` runs in the package root.
  const README = join(process.cwd(), 'README.md');
  let readme = await readFile(README, 'utf8');
  for (const [name, generate] of Object.entries(GENERATED_SECTIONS)) readme = withReadmeSection(readme, name, generate());
  await writeFile(README, readme);
  process.stdout.write(`README.md: ${Object.keys(GENERATED_SECTIONS).join(', ')} rewritten\n`);
}
