/**
 * Every message of the corpus through the classifier (runners/bounce/classify.ts),
 * in-process: the addresses, their class and the detector that decided
 * must be exactly those expected.json states. Plus what the corpus shows
 * only in passing: the detector order, and the negatives.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { classifyMessage } from '../../runners/bounce/classify.js';
import { DETECTORS } from '../../runners/bounce/detectors/index.js';
import { loadCorpus, score, truthOf } from './corpus.js';

const corpus = loadCorpus();

describe('bounce corpus', () => {
  it.each(corpus.map((entry) => [entry.file, entry] as const))('%s is classified as expected.json says', async (_file, entry) => {
    const raw = readFileSync(entry.path);
    const result = await classifyMessage(raw, entry.expected.envelopeRecipient === undefined ? {} : { envelopeRecipient: entry.expected.envelopeRecipient });
    expect({
      permanent: result.permanent,
      temporary: result.temporary,
      detector: result.detector,
      notBounce: result.notBounce,
      contentDetector: result.contentDetector,
    }).toEqual({
      permanent: entry.expected.permanent,
      temporary: entry.expected.temporary,
      detector: entry.expected.detector,
      notBounce: entry.expected.notBounce,
      contentDetector: entry.expected.contentDetector,
    });
  });

  it('every detector module is exercised by at least two corpus messages', () => {
    const used = new Map<string, number>();
    for (const entry of corpus) {
      const name = entry.expected.contentDetector ?? entry.expected.detector;
      if (name !== null) used.set(name, (used.get(name) ?? 0) + 1);
    }
    for (const detector of DETECTORS) expect(used.get(detector.name) ?? 0, detector.name).toBeGreaterThanOrEqual(2);
  });

  it('has no false positive on the corpus, and recall is what the known misses leave', async () => {
    const results = [];
    for (const entry of corpus) {
      const found = await classifyMessage(readFileSync(entry.path), entry.expected.envelopeRecipient === undefined ? {} : { envelopeRecipient: entry.expected.envelopeRecipient });
      results.push({ found, truth: truthOf(entry.expected) });
    }
    const measured = score(results);
    const misses = corpus.filter((entry) => entry.expected.truth !== undefined).reduce((n, entry) => n + entry.expected.truth!.permanent.length + entry.expected.truth!.temporary.length, 0);
    expect(measured.falsePositives).toBe(0);
    expect(measured.falseNegatives).toBe(misses);
  });
});
