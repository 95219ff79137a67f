/**
 * Is a secret in switchyard.toml readable by every user? `smtp.password` is
 * the one secret the configuration holds; the file should be 0640 (owner
 * and the switchyard group) in a home that others cannot enter (0750, as
 * `start` creates it). Checked at start: the master logs the warning at
 * warn level and `start` prints it, but starts anyway (refusing would turn
 * a hygiene problem into an outage).
 */
import { stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Config } from './schema.js';

/** The settings that hold secrets, with how to read them from the parsed configuration. */
const SECRETS: ReadonlyArray<{ key: string; set: (config: Config) => boolean }> = [{ key: 'smtp.password', set: (config) => config.smtp.password !== '' }];

/**
 * The warning to give, or undefined: `file` holds a secret and both it
 * (o+r) and its directory (o+x) let any local user read it.
 */
export async function secretExposureWarning(file: string, config: Config): Promise<string | undefined> {
  const held = SECRETS.filter((secret) => secret.set(config)).map((secret) => secret.key);
  if (held.length === 0) return undefined;
  let fileMode: number;
  let dirMode: number;
  try {
    fileMode = (await stat(file)).mode & 0o777;
    dirMode = (await stat(dirname(file))).mode & 0o777;
  } catch {
    // No file (the secret came from elsewhere) or no access to look: nothing to say.
    return undefined;
  }
  if ((fileMode & 0o004) === 0 || (dirMode & 0o001) === 0) return undefined;
  const octal = (mode: number): string => mode.toString(8).padStart(4, '0');
  return `${file} holds ${held.join(', ')} and every local user can read it (file ${octal(fileMode)}, home ${octal(dirMode)}): chmod 0640 ${file} (and chmod 0750 ${dirname(file)})`;
}
