/**
 * Building blocks for schema modules kept beside schema.ts (one per section,
 * such as smtp-schema.ts): a duration knob (string with unit, or a number of
 * seconds, parsed to milliseconds) and a bounded integer knob, shared by
 * schema.ts and the section modules, so knobs.ts writes every value back the
 * same way.
 */
import { z } from 'zod';
import { parseDuration, DurationSyntaxError } from './duration.js';

function secondsToMs(seconds: number): number {
  if (!Number.isFinite(seconds) || seconds < 0) throw new DurationSyntaxError(`invalid duration ${seconds}: a number of seconds must be zero or more`);
  return Math.round(seconds * 1000);
}

export function durationKnob(defaultValue: string, description: string) {
  return z
    .union([z.string(), z.number()])
    .transform((value, ctx) => {
      try {
        return typeof value === 'number' ? secondsToMs(value) : parseDuration(value);
      } catch (error) {
        if (!(error instanceof DurationSyntaxError)) throw error;
        ctx.addIssue({ code: 'custom', message: error.message });
        return z.NEVER;
      }
    })
    .prefault(defaultValue)
    .describe(description);
}

export function integerKnob(defaultValue: number, min: number, max: number, description: string) {
  return z.number().int().min(min).max(max).default(defaultValue).describe(description);
}
