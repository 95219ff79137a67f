/**
 * Every key file `[dkim]` names, read and checked (keys.ts): what the
 * outgoing runner does when it is made, and what the master does before it
 * restarts the runners on a changed switchyard.toml, so a key file missing
 * or unreadable is refused there (and shown in `status`) instead of failing
 * the outgoing runner after the restart. Reads key files only.
 */
import { isAbsolute, resolve } from 'node:path';
import type { DkimConfig } from '../../config/dkim-schema.js';
import { loadDomainKeys, type SigningKey } from './keys.js';

/** A key path as configured: relative paths are relative to the home. */
export function keyPath(file: string, home: string | undefined): string {
  return isAbsolute(file) || home === undefined ? file : resolve(home, file);
}

/** Each signing domain's keys, in `[dkim]` order; throws DkimKeyError (SY_DKIM_KEY) naming the first bad file. */
export function loadConfiguredKeys(dkim: DkimConfig, home: string | undefined): Map<string, SigningKey[]> {
  const keys = new Map<string, SigningKey[]>();
  for (const [domain, entry] of Object.entries(dkim.domains)) keys.set(domain, loadDomainKeys(entry.keys.map((key) => keyPath(key.file, home))));
  return keys;
}
