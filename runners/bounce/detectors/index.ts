/**
 * Every detector in this directory, in order: each module's default export
 * that is a Detector (see ../detector.ts), sorted by `order`, then name.
 * Adding a detector is adding a file here; nothing to register.
 */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Detector } from '../detector.js';

function isDetector(value: unknown): value is Detector {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Partial<Detector>;
  return typeof candidate.name === 'string' && typeof candidate.order === 'number' && typeof candidate.detect === 'function';
}

async function loadDetectors(): Promise<Detector[]> {
  const here = fileURLToPath(import.meta.url);
  const directory = dirname(here);
  // Compiled: *.js beside this index.js; from source (vitest): *.ts.
  const extension = here.endsWith('.ts') ? '.ts' : '.js';
  const files = readdirSync(directory)
    .filter((name) => name.endsWith(extension) && !name.endsWith('.d.ts') && !name.startsWith('index.'))
    .sort();
  const detectors: Detector[] = [];
  for (const file of files) {
    const module = (await import(pathToFileURL(join(directory, file)).href)) as { default?: unknown };
    if (isDetector(module.default)) detectors.push(module.default);
  }
  return detectors.sort((a, b) => a.order - b.order || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export const DETECTORS: readonly Detector[] = await loadDetectors();
