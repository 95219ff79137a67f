/**
 * `switchyard config show`: every knob with its effective value, default and
 * meaning, generated from the schema (src/config/knobs.ts), so nothing here
 * can drift from what the master actually reads. Read-only.
 */
import { Command } from 'commander';
import type { z } from 'zod';
import { builtinOptionsSchema, loadConfig, resolveRunners, withBuiltinDefaults, type LoadedConfig } from '../config/load.js';
import { configSections, optionsSection, runnerOptionsSections, runnerSection, type Knob } from '../config/knobs.js';
import { configSchema, type RunnerConfig } from '../config/schema.js';
import { homePaths, resolveHome } from '../home.js';
import { asCliError, existingHome } from './store-access.js';
import { CliError, EXIT_USAGE } from './exit-codes.js';

interface ShowOptions {
  json?: boolean;
  defaults?: boolean;
  markdown?: boolean;
}

export function configCommand(): Command {
  return new Command('config').description('show the configuration').addCommand(showCommand());
}

function showCommand(): Command {
  return new Command('show')
    .description('print every setting: its effective value, default and meaning (TOML, as in switchyard.toml)')
    .option('--json', 'print the effective values as JSON (same structure as the TOML file)')
    .option('--defaults', 'ignore switchyard.toml: show the embedded defaults')
    .option('--markdown', 'print the reference table of every setting (key, default, description) in Markdown')
    .action(async (options: ShowOptions, command: Command) => {
      if (options.markdown) {
        if (options.json) throw new CliError('--markdown and --json exclude each other', EXIT_USAGE);
        process.stdout.write(configReference());
        return;
      }
      const loaded = await load(command, options.defaults === true);
      process.stdout.write(options.json ? `${JSON.stringify(effectiveValues(loaded), null, 2)}\n` : renderToml(loaded));
    });
}

async function load(command: Command, defaultsOnly: boolean): Promise<LoadedConfig> {
  const { home } = command.optsWithGlobals<{ home?: string }>();
  if (defaultsOnly) {
    const file = homePaths(resolveHome(home)).config;
    const config = configSchema.parse(withBuiltinDefaults({}));
    return { file, fromFile: false, config, runners: resolveRunners(config, file) };
  }
  // The file's values need the home: one run from the wrong directory must not show the defaults as if they applied.
  const existing = existingHome(command);
  try {
    return await loadConfig(homePaths(existing).config);
  } catch (error) {
    throw asCliError(error, existing);
  }
}

/** The effective configuration in file notation, shaped like switchyard.toml. */
export function effectiveValues(loaded: LoadedConfig): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  const config = loaded.config as unknown as Record<string, Record<string, unknown>>;
  for (const section of configSections()) {
    const values: Record<string, unknown> = {};
    for (const knob of section.knobs) values[knob.key] = redact(knob.key, knob.notation(config[section.name]?.[knob.key]));
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
 * Secrets are shown as set or not, never printed: `config show` output ends
 * up in tickets and chat.
 */
function redact(key: string, value: unknown): unknown {
  return /password/i.test(key) && typeof value === 'string' && value !== '' ? '********' : value;
}

function runnerValues(name: string, runner: RunnerConfig): Record<string, unknown> {
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

function renderToml(loaded: LoadedConfig): string {
  const lines = [`# ${loaded.fromFile ? loaded.file : `embedded defaults (no ${loaded.file})`}`];
  const values = effectiveValues(loaded);
  for (const section of configSections()) {
    lines.push('', `# ${section.description}`, `[${section.name}]`);
    const table = values[section.name] as Record<string, unknown>;
    for (const knob of section.knobs) lines.push(knobLine(knob, table[knob.key]));
  }
  const runners = values.runner as Record<string, Record<string, unknown>>;
  const perRunner = runnerSection();
  lines.push('', `# ${perRunner.description}; the runners this configuration starts:`);
  for (const runner of loaded.runners) {
    lines.push('', `[runner.${tomlKey(runner.name)}]`);
    const schema = builtinOptionsSchema(runner.name, runner.module);
    // A built-in runner's options get a table of their own below, knob by knob.
    for (const knob of perRunner.knobs) if (schema === undefined || knob.key !== 'options') lines.push(knobLine(knob, runners[runner.name]?.[knob.key]));
    if (schema === undefined) continue;
    const options = optionsSection(runner.name, schema);
    if (options.knobs.length === 0) {
      lines.push(`# [runner.${tomlKey(runner.name)}.options]: ${runner.name} takes no options`);
      continue;
    }
    lines.push(`[runner.${tomlKey(runner.name)}.options]`);
    const values = runners[runner.name]?.options as Record<string, unknown>;
    for (const knob of options.knobs) lines.push(knobLine(knob, values[knob.key]));
  }
  const disabled = Object.entries(loaded.config.runner).filter(([, runner]) => !runner.enabled);
  for (const [name] of disabled) lines.push('', `# [runner.${tomlKey(name)}] is disabled (enabled = false)`);
  return `${lines.join('\n')}\n`;
}

function knobLine(knob: Knob, value: unknown): string {
  const defaultText = knob.defaultValue === undefined ? '' : ` (default ${tomlValue(knob.defaultValue)})`;
  const comment = `  # ${knob.description}${defaultText}`;
  // TOML has no null: a knob without a value is shown commented out.
  if (value === undefined) return `# ${knob.key} =${comment}`;
  return `${knob.key} = ${tomlValue(value)}${comment}`;
}

/** The Markdown table of every knob for the README: key, default, description. */
export function configReference(): string {
  const rows: string[] = ['| Key | Default | Description |', '| --- | --- | --- |'];
  for (const section of [...configSections(), runnerSection(), ...runnerOptionsSections()]) {
    for (const knob of section.knobs) {
      const defaultText = knob.defaultValue === undefined ? '' : `\`${tomlValue(knob.defaultValue)}\``;
      rows.push(`| \`${section.name}.${knob.key}\` | ${defaultText} | ${knob.description.replaceAll('|', '\\|')} |`);
    }
  }
  return `${rows.join('\n')}\n`;
}

function tomlValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return `[${value.map(tomlValue).join(', ')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value).map(([key, inner]) => `${tomlKey(key)} = ${tomlValue(inner)}`);
    return entries.length === 0 ? '{}' : `{ ${entries.join(', ')} }`;
  }
  return JSON.stringify(value) ?? 'null';
}

function tomlKey(key: string): string {
  return /^[A-Za-z0-9_-]+$/.test(key) ? key : JSON.stringify(key);
}
