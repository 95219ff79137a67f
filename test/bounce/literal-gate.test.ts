/**
 * Literal gates (runners/bounce/literal-gate.ts): the literals derived from
 * an expression must be in every text it matches, so a gated test answers
 * exactly what the expression answers. Checked on the derivation's cases,
 * on case and Unicode corners, and on every gated expression of the
 * classifier against the texts and lines of the whole corpus.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseBounceMessage } from '../../runners/bounce/bounce-message.js';
import { LiteralGate, requiredLiterals } from '../../runners/bounce/literal-gate.js';
import { FAILURE_PATTERNS } from '../../runners/bounce/detectors/simple-match.js';
import { WARNING_PATTERNS } from '../../runners/bounce/detectors/simple-warning.js';
import { PHRASES } from '../../runners/bounce/reason-text.js';
import { loadCorpus } from './corpus.js';

describe('requiredLiterals', () => {
  it('takes the literal run of a sequence, lower-cased', () => {
    expect(requiredLiterals(/This is the qmail-send program at/i)).toEqual(['this is the qmail-send program at']);
  });

  it('takes one literal from each alternative, and drops those that contain another', () => {
    expect(requiredLiterals(/addresses had|Transcript of session/i)).toEqual(['addresses had', 'transcript of session']);
    expect(requiredLiterals(/user unknown|unknown|no such user/i)).toEqual(['unknown', 'no such user']);
  });

  it('skips what may be absent (optional parts, classes, assertions) and keeps what must be there', () => {
    expect(requiredLiterals(/^\s*was not delivered to:\s*$/im)).toEqual(['was not delivered to:']);
    expect(requiredLiterals(/mail ?box (?:is )?full/i)).toEqual(['mail']);
    expect(requiredLiterals(/(?:de|fr)-(?:x|y)z+/)).toEqual(['de', 'fr']);
  });

  it('requires nothing when an alternative has no literal, or the source is beyond it', () => {
    expect(requiredLiterals(/abc|\d+/)).toBeUndefined();
    expect(requiredLiterals(/(a)\1/)).toEqual(['a']);
    expect(requiredLiterals(/x?/)).toBeUndefined();
    expect(requiredLiterals(/\cJ/)).toBeUndefined();
  });

  it('keeps no cased letter outside ASCII (its lower case may not be one to one), nor s and k under iu', () => {
    expect(requiredLiterals(/Empfänger/i)).toEqual(['empf']);
    expect(requiredLiterals(/メールボックス/)).toEqual(['メールボックス']);
    expect(requiredLiterals(/task/iu)).toEqual(['ta']);
  });
});

describe('LiteralGate', () => {
  it('refuses expressions with state', () => {
    expect(() => new LiteralGate(/a/g)).toThrow(TypeError);
  });

  it('answers as the expression does on case and Unicode corners', () => {
    const cases: [RegExp, string][] = [
      [/TASK/iu, 'ta\u017f\u212a'], // U+017F and the Kelvin sign fold to s and k under iu
      [/user unknown/i, 'USER UNKNOWN'],
      [/user unknown/i, 'U\u0130SER unknown'],
      [/istanbul/i, '\u0130stanbul'],
      [/straße/i, 'STRASSE'],
      [/σ/i, 'Σ'],
    ];
    for (const [pattern, text] of cases) expect(new LiteralGate(pattern).test(text, text.toLowerCase()), `${pattern} on ${text}`).toBe(pattern.test(text));
  });

  describe('on the classifier’s expressions and the corpus', () => {
    const texts: string[] = [];
    beforeAll(async () => {
      for (const entry of loadCorpus()) {
        const message = await parseBounceMessage(readFileSync(entry.path));
        texts.push(message.text, message.subject, ...message.lines());
      }
      // Every phrase the rows name, in other cases: what a gate must never turn away.
      texts.push('Mailbox Full', 'USER UNKNOWN', 'Quota Exceeded', 'Host Not Found', 'SPAM detected', 'Blocked using Spamhaus', 'DELIVERY TO THE FOLLOWING RECIPIENTS FAILED.');
    });

    const patterns: RegExp[] = [
      ...PHRASES.map(([, pattern]) => pattern),
      ...[...FAILURE_PATTERNS, ...WARNING_PATTERNS].map((pattern) => new RegExp(pattern.start.source, pattern.start.flags.replace(/[gmy]/g, '') + 'm')),
    ];

    it('derives literals for every expression it gates', () => {
      for (const pattern of patterns) expect(requiredLiterals(pattern), String(pattern)).toBeDefined();
    });

    it('a gated test answers what the expression answers, on every text and line', () => {
      let matched = 0;
      for (const pattern of patterns) {
        const gate = new LiteralGate(pattern);
        for (const text of texts) {
          const expected = pattern.test(text);
          if (expected) matched++;
          expect(gate.test(text, text.toLowerCase()), `${pattern} on ${JSON.stringify(text.slice(0, 80))}`).toBe(expected);
        }
      }
      // The corpus exercises the gates: many matches, not only rejections.
      expect(matched).toBeGreaterThan(100);
    });
  });
});
