/**
 * The knobs of the configuration schema, found by walking it: each with its
 * key, default and description, and a way to write any value back in the
 * notation an operator puts in switchyard.toml (`"30s"`, not 30000). This is
 * what makes `config show` and the README table come from the schema alone.
 */
import { z } from 'zod';
import { formatDuration } from './duration.js';
import { BUILTIN_RUNNERS } from '../../runners/builtin.js';
import { configSchema, runnerSchema } from './schema.js';

export interface Knob {
  /** The key inside its table, e.g. `stopTimeout`. */
  key: string;
  description: string;
  /** The default in file notation; undefined when the knob has none (e.g. runner `queue`). */
  defaultValue: unknown;
  /** The value in file notation, such that parsing it gives `value` back. */
  notation(value: unknown): unknown;
}

export interface Section {
  /** The TOML table, e.g. `master`, or `runner.NAME` for the per-runner knobs. */
  name: string;
  description: string;
  knobs: Knob[];
}

/** Every fixed table of the schema, in schema order. */
export function configSections(): Section[] {
  const sections: Section[] = [];
  for (const [name, field] of Object.entries(configSchema.shape)) {
    const inner = unwrapDefaults(field);
    if (inner instanceof z.ZodObject) sections.push({ name, description: field.description ?? '', knobs: objectKnobs(inner) });
  }
  return sections;
}

/** The knobs of each `[runner.NAME]` table. */
export function runnerSection(): Section {
  return { name: 'runner.NAME', description: configSchema.shape.runner.description ?? '', knobs: objectKnobs(runnerSchema) };
}

/**
 * The knobs of each built-in runner's `[runner.NAME.options]` table, one
 * section per runner that has any (runners/builtin.ts names the schemas).
 */
export function runnerOptionsSections(): Section[] {
  return Object.entries(BUILTIN_RUNNERS)
    .filter(([, builtin]) => Object.keys(builtin.options.shape).length > 0)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, builtin]) => optionsSection(name, builtin.options));
}

/** The section of one runner's options table, from its schema. */
export function optionsSection(name: string, schema: z.ZodObject): Section {
  return { name: `runner.${name}.options`, description: `options of the ${name} runner`, knobs: objectKnobs(schema) };
}

function objectKnobs(object: z.ZodObject): Knob[] {
  return Object.entries(object.shape).map(([key, field]) => knob(key, field as z.ZodType));
}

function knob(key: string, field: z.ZodType): Knob {
  const notation = notationOf(field);
  // Parsing nothing yields the default's effective value, which is then written like any other value
  // (so `restartWindow` shows "1m" whether the schema says "60s" or "1m").
  const hasDefault = field instanceof z.ZodPrefault || field instanceof z.ZodDefault;
  const defaultValue = hasDefault ? notation(field.parse(undefined)) : undefined;
  return { key, description: field.description ?? '', defaultValue, notation };
}

function unwrapDefaults(field: z.ZodType): z.ZodType {
  let current = field;
  while (current instanceof z.ZodDefault || current instanceof z.ZodPrefault || current instanceof z.ZodOptional) current = current.unwrap() as z.ZodType;
  return current;
}

/** How values of `field` are written back in the file. */
function notationOf(field: z.ZodType): (value: unknown) => unknown {
  // Only transformed knobs (durations, the umask) have an output unlike their input.
  if (!(unwrapDefaults(field) instanceof z.ZodPipe)) return (value) => value;
  return (value) => {
    for (const candidate of encodings(value)) {
      const parsed = field.safeParse(candidate);
      if (parsed.success && parsed.data === value) return candidate;
    }
    return value;
  };
}

/** The notations a transformed value may have come from; the first that parses back to it wins. */
function encodings(value: unknown): string[] {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) return [];
  return [formatDuration(value), value.toString(8).padStart(3, '0')];
}
