/**
 * `switchyard config show`: every knob with its effective value, default and
 * meaning, generated from the schema (src/config/knobs.ts), so nothing here
 * can drift from what the master actually reads. Read-only. When a master
 * runs on another configuration (the file was edited, and not yet applied
 * with `switchyard restart`), it says so and shows both values of each key
 * that differs: the master reports what its runners run over its socket.
 */
import { dirname } from 'node:path';
import { Command } from 'commander';
import { loadConfig, resolveRunners, withBuiltinDefaults, type LoadedConfig } from '../config/load.js';
import { configDifferences, configDigest, effectiveValues, type ConfigDifference } from '../config/effective-values.js';
import type { StatusReport } from '../master/protocol.js';
import { requestStatus } from '../master/status-client.js';
import { configSections, optionsSection, runnerOptionsSections, runnerSection, type Knob } from '../config/knobs.js';
import { builtinOptionsSchema } from '../config/load.js';
import { configSchema } from '../config/schema.js';
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
      const master = options.defaults ? undefined : await runningMaster(loaded);
      if (options.json) {
        const values = effectiveValues(loaded);
        process.stdout.write(`${JSON.stringify(master === undefined ? values : { ...values, $master: master }, null, 2)}\n`);
      } else {
        process.stdout.write(`${master === undefined ? '' : masterComment(master)}${renderToml(loaded)}`);
      }
    });
}

/** `config show --json` key `$master`, present when a master runs: is it on the file's configuration? */
interface MasterConfigState {
  pid: number;
  upToDate: boolean;
  /** When it is not: the notice, and both values of each key that differs (secrets redacted). */
  notice?: string;
  differences?: ConfigDifference[];
  /** A restart it refused because the file was invalid (status shows it too). */
  problem?: string;
}

const STALE_NOTICE = 'the running master uses an older configuration; restart to apply (`switchyard restart`)';

/** What the running master says it runs, compared with `loaded`; undefined when no master answers (or one too old to say). */
async function runningMaster(loaded: LoadedConfig): Promise<MasterConfigState | undefined> {
  let report: StatusReport;
  try {
    report = await requestStatus(homePaths(dirname(loaded.file)).socket, 2_000);
  } catch {
    // No master, or none that answers: then the file is all there is to show.
    return undefined;
  }
  const running = report.config;
  if (running === undefined) return undefined;
  const state: MasterConfigState = { pid: report.master.pid, upToDate: running.digest === configDigest(loaded) };
  if (!state.upToDate) {
    state.notice = STALE_NOTICE;
    state.differences = configDifferences(effectiveValues(loaded), running.values);
  }
  if (running.problem !== null) state.problem = running.problem;
  return state;
}

function masterComment(master: MasterConfigState): string {
  const lines: string[] = [];
  if (!master.upToDate) {
    lines.push(`# ${master.notice}:`);
    for (const d of master.differences ?? []) lines.push(`#   ${d.key} = ${d.file === undefined ? '(not set)' : tomlValue(d.file)} in the file; the master (pid ${master.pid}) runs ${d.running === undefined ? '(not set)' : tomlValue(d.running)}`);
    // Equal digests but no visible difference: only redacted values (a password) changed.
    if ((master.differences ?? []).length === 0) lines.push('#   (the values that differ are secrets, not shown)');
  }
  if (master.problem !== undefined) lines.push(`# ${master.problem}`);
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
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
