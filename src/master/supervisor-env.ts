/**
 * The environment variables a runner process finds the master's validated
 * configuration in (supervisor.ts): the validated result as JSON
 * (CONFIG_JSON_ENV: the runner needs neither the TOML parser nor zod, about
 * a tenth of a second of CPU per process), else its text, or
 * CONFIG_DEFAULTS_ENV = "1" when there is no file (the embedded defaults). runner-process.ts reads and
 * deletes them before anything else runs, so no subprocess of a runner
 * inherits them. A module of its own so the runner process does not load
 * the supervisor.
 */
export const CONFIG_TEXT_ENV = 'SWITCHYARD_CONFIG_TEXT';
export const CONFIG_JSON_ENV = 'SWITCHYARD_CONFIG_JSON';
export const CONFIG_DEFAULTS_ENV = 'SWITCHYARD_CONFIG_DEFAULTS';

/** What CONFIG_JSON_ENV holds: loadConfig()'s validated result, the part a runner uses. */
export interface ValidatedConfig<C = unknown, R = unknown> {
  config: C;
  runners: R[];
}

/**
 * The validated configuration as CONFIG_JSON_ENV carries it. Plain JSON
 * round-trips it: the schema's output is numbers, strings, booleans, arrays
 * and plain objects (src/config/config-cache.ts stores the same object the
 * same way, and test/master/config-env.test.ts checks the round trip).
 */
export function validatedConfigJson(loaded: ValidatedConfig): string {
  return JSON.stringify({ config: loaded.config, runners: loaded.runners } satisfies ValidatedConfig);
}
