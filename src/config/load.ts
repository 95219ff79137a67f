/**
 * Reading `<home>/switchyard.toml`. No file: the embedded defaults. A syntax
 * error or a bad value: ConfigError naming the file, the key and the problem,
 * so the operator can fix it without reading code.
 */
import { SwitchyardError } from '../errors.js';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parse as parseToml, TomlError } from 'smol-toml';
import type { z } from 'zod';
import { configSchema, runnerSchema, type Config, type RunnerConfig } from './schema.js';
import { BUILTIN_RUNNERS } from '../../runners/builtin.js';

/**
 * The schema of `[runner.NAME.options]` when NAME is a built-in runner run
 * from its own module; undefined for a runner from another module, whose
 * options only that module knows (it checks them when it starts).
 */
export function builtinOptionsSchema(name: string, module: string | undefined): z.ZodObject | undefined {
  const builtin = Object.hasOwn(BUILTIN_RUNNERS, name) ? BUILTIN_RUNNERS[name] : undefined;
  if (builtin === undefined || (module !== undefined && module !== builtin.module)) return undefined;
  return builtin.options;
}

export class ConfigError extends SwitchyardError {
  constructor(readonly file: string, readonly problems: string[]) {
    super('SY_CONFIG', `${file}: ${problems.length === 1 ? problems[0] : `\n  ${problems.join('\n  ')}`}`);
  }
}

export interface ResolvedRunner extends RunnerConfig {
  name: string;
  /** A queue runner, or a service (no queue; see runners/service.ts); custom modules say which when they start. */
  kind: 'runner' | 'service';
  /** The queue a runner consumes; for a service, unused. */
  queue: string;
  /** Absolute module path or package specifier of the runner class. */
  module: string;
}

export interface LoadedConfig {
  file: string;
  /** Whether the file existed (otherwise: embedded defaults). */
  fromFile: boolean;
  config: Config;
  /** The runners to start, built-ins merged with the file's tables. */
  runners: ResolvedRunner[];
  /** The file's text as read (when fromFile): what the master hands its runners (see supervisor.ts). */
  text?: string;
}

function formatIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.flatMap((issue) => {
    const key = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') {
      // Name each unknown key in full, as the operator will search the file for it.
      return issue.keys.map((unknown) => `${key ? `${key}.` : ''}${unknown}: unknown setting (see \`switchyard config show\`)`);
    }
    return [key ? `${key}: ${issue.message}` : issue.message];
  });
}

export function parseConfig(text: string, file: string): LoadedConfig {
  let raw: unknown;
  try {
    raw = parseToml(text);
  } catch (error) {
    if (error instanceof TomlError) throw new ConfigError(file, [`TOML syntax error at line ${error.line}, column ${error.column}: ${error.message.split('\n')[0]}`]);
    throw error;
  }
  const result = configSchema.safeParse(withBuiltinDefaults(raw));
  if (!result.success) throw new ConfigError(file, formatIssues(result.error.issues));
  return { file, fromFile: true, config: result.data, runners: resolveRunners(result.data, file), text };
}

/**
 * The file's values with each built-in runner's own defaults filled in
 * underneath (outgoing starts with more concurrency than the generic
 * default); what the file says always wins.
 */
export function withBuiltinDefaults(raw: unknown): unknown {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return raw;
  const file = raw as Record<string, unknown>;
  const fileRunners = file.runner;
  if (fileRunners !== undefined && (typeof fileRunners !== 'object' || fileRunners === null || Array.isArray(fileRunners))) return raw;
  const runners: Record<string, unknown> = { ...(fileRunners as Record<string, unknown> | undefined) };
  for (const [name, builtin] of Object.entries(BUILTIN_RUNNERS)) {
    if (!builtin.defaults) continue;
    const section = runners[name];
    if (section === undefined) runners[name] = { ...builtin.defaults };
    else if (typeof section === 'object' && section !== null && !Array.isArray(section)) runners[name] = { ...builtin.defaults, ...section };
  }
  return { ...file, runner: runners };
}

export function resolveRunners(config: Config, file: string): ResolvedRunner[] {
  const runners: ResolvedRunner[] = [];
  const problems: string[] = [];
  const names = new Set([...Object.keys(BUILTIN_RUNNERS), ...Object.keys(config.runner)]);
  for (const name of [...names].sort()) {
    const builtin = Object.hasOwn(BUILTIN_RUNNERS, name) ? BUILTIN_RUNNERS[name] : undefined;
    const section = config.runner[name] ?? runnerSchema.parse({});
    // A relative module path is relative to the configuration file, not to wherever the master was started.
    const module = section.module?.startsWith('.') ? resolve(dirname(file), section.module) : (section.module ?? builtin?.module);
    if (module === undefined) {
      problems.push(`runner.${name}: no built-in runner has this name; set module = "path/to/runner.js"`);
      continue;
    }
    // Checked even for a disabled runner: enabling it later must not be when the typo shows.
    const optionsSchema = builtinOptionsSchema(name, section.module);
    const options = optionsSchema?.safeParse(section.options);
    if (options !== undefined && !options.success) {
      problems.push(...formatIssues(options.error.issues).map((problem) => `runner.${name}.options.${problem}`));
      continue;
    }
    if (!section.enabled || builtin?.enabledIn?.(config) === false) continue;
    const kind = builtin?.kind ?? 'runner';
    if (kind === 'service' && section.instances !== 1) {
      problems.push(`runner.${name}.instances: ${name} is a service (one process owns its port or schedule): instances must be 1`);
      continue;
    }
    runners.push({ ...section, name, kind, queue: section.queue ?? builtin?.queue ?? name, module });
  }
  if (problems.length > 0) throw new ConfigError(file, problems);
  return runners;
}

/** Load the configuration of a home directory (see home.ts for its layout). */
export async function loadConfig(file: string): Promise<LoadedConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    const config = configSchema.parse(withBuiltinDefaults({}));
    return { file, fromFile: false, config, runners: resolveRunners(config, file) };
  }
  return parseConfig(text, file);
}
