/**
 * The signature scan (runners/bounce/signature-scan.ts): one search of a
 * message tags the MTA detectors it can be for. A detector skipped by the
 * scan must be one that would have answered nothing: checked for every
 * detector on every corpus message, and on words that overlap or nest.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseBounceMessage } from '../../runners/bounce/bounce-message.js';
import { GENERIC_ORDER, type Detector } from '../../runners/bounce/detector.js';
import { DETECTORS } from '../../runners/bounce/detectors/index.js';
import { SignatureScan } from '../../runners/bounce/signature-scan.js';
import { loadCorpus } from './corpus.js';

async function message(text: string, headers = 'From: MAILER-DAEMON@mx.example.org\nSubject: failure\n') {
  return parseBounceMessage(Buffer.from(`${headers}Content-Type: text/plain\n\n${text}\n`));
}

function wordsDetector(name: string, words: string[]): Detector {
  return { name, order: 100, signature: { words }, detect: () => undefined };
}

describe('SignatureScan', () => {
  it('finds every word, also words that overlap or that another word contains', async () => {
    const detectors = [wordsDetector('abc', ['abc']), wordsDetector('bcd', ['bcd']), wordsDetector('mail', ['mail']), wordsDetector('mailbox', ['mailbox full']), wordsDetector('none', ['zzz'])];
    const possible = new SignatureScan(detectors).possible(await message('xx ABCD yy Mailbox Full'));
    expect(possible).toEqual([true, true, true, true, false]);
  });

  it('gives every message to a detector without a signature, and asks the signature test of the others', async () => {
    const always: Detector = { name: 'always', order: 100, detect: () => undefined };
    const byHeader: Detector = { name: 'header', order: 100, signature: { test: (m) => m.has('X-Mailer') }, detect: () => undefined };
    const scan = new SignatureScan([always, byHeader]);
    expect(scan.possible(await message('text'))).toEqual([true, false]);
    expect(scan.possible(await message('text', 'From: a@example.org\nX-Mailer: <SMTP32 v8.22>\n'))).toEqual([true, true]);
  });

  it('refuses a word that is not lower case (the text it is sought in is)', () => {
    expect(() => new SignatureScan([wordsDetector('upper', ['Mailbox'])])).toThrow(TypeError);
  });

  it('every MTA detector but the DSN one has a signature', () => {
    const without = DETECTORS.filter((detector) => detector.order < GENERIC_ORDER && detector.signature === undefined).map((detector) => detector.name);
    expect(without).toEqual(['dsn']);
  });

  it('never turns away a detector that answers: every detector on every corpus message', async () => {
    const specific = DETECTORS.filter((detector) => detector.order < GENERIC_ORDER);
    const scan = new SignatureScan(specific);
    let answered = 0;
    let skipped = 0;
    for (const entry of loadCorpus()) {
      const parsed = await parseBounceMessage(readFileSync(entry.path));
      const possible = scan.possible(parsed);
      specific.forEach((detector, index) => {
        const found = detector.detect(parsed);
        if (found !== undefined) answered++;
        if (!possible[index]) {
          skipped++;
          expect(found, `${detector.name} on ${entry.file}`).toBeUndefined();
        }
      });
    }
    // The corpus has every detector's format, and the scan does skip most detectors of most messages.
    expect(answered).toBeGreaterThan(40);
    expect(skipped).toBeGreaterThan(loadCorpus().length * 10);
  });
});
