/**
 * The environment variables a runner process finds the master's validated
 * configuration in (supervisor.ts): its text, or CONFIG_DEFAULTS_ENV = "1"
 * when there is no file (the embedded defaults). runner-process.ts reads and
 * deletes them before anything else runs, so no subprocess of a runner
 * inherits them. A module of its own so the runner process does not load
 * the supervisor.
 */
export const CONFIG_TEXT_ENV = 'SWITCHYARD_CONFIG_TEXT';
export const CONFIG_DEFAULTS_ENV = 'SWITCHYARD_CONFIG_DEFAULTS';
