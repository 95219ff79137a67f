/**
 * A loaded configuration as values in file notation, shaped like
 * switchyard.toml (`config show --json`), with secrets redacted; its digest;
 * and the keys in which two such configurations differ. The master reports
 * the values and digest of the configuration its runners run (`status`), so
 * `config show` can tell an operator that the file says something else.
 */
import { createHash } from 'node:crypto';
import type { z } from 'zod';
import { configSections, optionsSection, runnerSection } from './knobs.js';
import { builtinOptionsSchema, type LoadedConfig, type ResolvedRunner } from './load.js';
import type { RunnerConfig } from './schema.js';

export type ConfigValues = Record<string, unknown>;

/** The effective configuration in file notation; `redactSecrets` false only for the digest, never for output. */
export function effectiveValues(loaded: LoadedConfig, redactSecrets = true): ConfigValues {
  const result: ConfigValues = {};
  const config = loaded.config as unknown as Record<string, Record<string, unknown>>;
  for (const section of configSections()) {
    const values: Record<string, unknown> = {};
    for (const knob of section.knobs) {
      const value = knob.notation(config[section.name]?.[knob.key]);
      values[knob.key] = redactSecrets ? redact(knob.key, value) : value;
    }
    result[section.name] = values;
  }
  const runners: Record<string, unknown> = {};
  for (const runner of loaded.runners) runners[runner.name] = runnerValues(runner.name, runner);
  // Disabled runners too, so the result written back as a file still disables them.
  for (const [name, runner] of Object.entries(loaded.config.runner)) if (!runner.enabled) runners[name] = runnerValues(name, runner);
  result.runner = runners;
  return result;
}

/**
 * A digest of every value, secrets included (a changed password is a changed
 * configuration), that reveals none of them.
 */
export function configDigest(loaded: LoadedConfig): string {
  return createHash('sha256').update(canonicalJson(effectiveValues(loaded, false))).digest('hex').slice(0, 16);
}

export interface ConfigDifference {
  /** Dotted key, e.g. `smtp.port` or `runner.outgoing.concurrency`. */
  key: string;
  /** The value in the file (undefined: not set there, nor defaulted). */
  file: unknown;
  /** The value the running master uses. */
  running: unknown;
}

/** Every leaf key whose value differs between the file and the running configuration, in key order. */
export function configDifferences(file: ConfigValues, running: ConfigValues): ConfigDifference[] {
  const differences: ConfigDifference[] = [];
  const walk = (prefix: string, a: unknown, b: unknown): void => {
    if (isTable(a) && isTable(b)) {
      for (const key of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) walk(prefix === '' ? key : `${prefix}.${key}`, a[key], b[key]);
      return;
    }
    if (canonicalJson(a) !== canonicalJson(b)) differences.push({ key: prefix, file: a, running: b });
  };
  walk('', file, running);
  return differences;
}

function isTable(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (isTable(value)) return `{${Object.keys(value).sort().map((key) => `${JSON.stringify(key)}:${canonicalJson(value[key])}`).join(',')}}`;
  return JSON.stringify(value) ?? 'null';
}

/**
 * Secrets are shown as set or not, never printed: `config show` output ends
 * up in tickets and chat, and `status --json` in monitoring.
 */
function redact(key: string, value: unknown): unknown {
  return /password/i.test(key) && typeof value === 'string' && value !== '' ? '********' : value;
}

function runnerValues(name: string, runner: ResolvedRunner | RunnerConfig): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  const fields = runner as unknown as Record<string, unknown>;
  for (const knob of runnerSection().knobs) if (fields[knob.key] !== undefined) values[knob.key] = knob.notation(fields[knob.key]);
  const schema = builtinOptionsSchema(name, runner.module);
  if (schema !== undefined) values.options = effectiveOptions(name, schema, runner.options);
  return values;
}

/** A built-in runner's options with their defaults filled in, in file notation (loading already checked them). */
function effectiveOptions(name: string, schema: z.ZodObject, raw: Record<string, unknown>): Record<string, unknown> {
  const parsed = schema.parse(raw) as Record<string, unknown>;
  const values: Record<string, unknown> = {};
  for (const knob of optionsSection(name, schema).knobs) values[knob.key] = knob.notation(parsed[knob.key]);
  return values;
}
