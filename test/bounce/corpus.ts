/**
 * The bounce corpus (test/bounce/corpus/): one .eml per message, written
 * from the RFCs and from each MTA's published formats, and expected.json
 * saying what the classifier must make of each (`permanent`, `temporary`,
 * `detector`, `notBounce`, `envelopeRecipient` for VERP cases). `truth`,
 * where present, is what a perfect classifier would find when ours does not
 * (formats we knowingly miss): precision and recall are measured against it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The corpus in the source tree, also when this module runs compiled from dist/ (the benchmark). */
export const CORPUS_DIR = fileURLToPath(new URL('./corpus/', import.meta.url)).replace(/([/\\])dist([/\\]test[/\\]bounce[/\\]corpus[/\\])$/, '$2');

export interface Expectation {
  permanent: string[];
  temporary: string[];
  detector: string | null;
  notBounce?: string;
  envelopeRecipient?: string;
  contentDetector?: string;
  truth?: { permanent: string[]; temporary: string[] };
}

export interface CorpusEntry {
  file: string;
  path: string;
  expected: Expectation;
}

export function loadCorpus(): CorpusEntry[] {
  const expected = JSON.parse(readFileSync(join(CORPUS_DIR, 'expected.json'), 'utf8')) as Record<string, Expectation>;
  return Object.entries(expected).map(([file, expectation]) => ({ file, path: join(CORPUS_DIR, file), expected: expectation }));
}

export interface Score {
  truePositives: number;
  falsePositives: number;
  falseNegatives: number;
  precision: number;
  recall: number;
}

/**
 * Address-level precision and recall: an address found in the right class
 * (permanent or temporary) is a true positive; found but not true, or in the
 * wrong class, a false positive; true but not found in its class, a false
 * negative. A delay reported as permanent is thus both a false positive and
 * a false negative: the mistake the issue cares most about.
 */
export function score(results: ReadonlyArray<{ found: { permanent: string[]; temporary: string[] }; truth: { permanent: string[]; temporary: string[] } }>): Score {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (const { found, truth } of results) {
    for (const kind of ['permanent', 'temporary'] as const) {
      const want = new Set(truth[kind].map((a) => a.toLowerCase()));
      const got = new Set(found[kind].map((a) => a.toLowerCase()));
      for (const address of got) if (want.has(address)) tp++;
      else fp++;
      for (const address of want) if (!got.has(address)) fn++;
    }
  }
  return { truePositives: tp, falsePositives: fp, falseNegatives: fn, precision: tp + fp === 0 ? 1 : tp / (tp + fp), recall: tp + fn === 0 ? 1 : tp / (tp + fn) };
}

export function truthOf(expected: Expectation): { permanent: string[]; temporary: string[] } {
  return expected.truth ?? { permanent: expected.permanent, temporary: expected.temporary };
}
