/**
 * A new DKIM key pair (`switchyard dkim keygen`): the private key written
 * mode 0600, never over an existing file unless asked (then through a temp
 * file and a rename, so the old key is whole until the new one is), and the
 * DNS record to publish.
 *
 * Files: `<dir>/<domain>.<selector>.pem`. Killed before the rename (with
 * --force): a `.tmp-*` file beside it, the old key untouched.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, openSync, closeSync, writeSync, fsyncSync, renameSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { publicKeyValue, type DkimKeyType } from './keys.js';
import { recordName, recordText, txtStrings, zoneLine } from './dns-record.js';
import { SwitchyardError } from '../../errors.js';

export interface GeneratedKey {
  domain: string;
  selector: string;
  type: DkimKeyType;
  file: string;
  record: { name: string; type: 'TXT'; text: string; strings: string[]; zoneLine: string };
}

export class KeyExistsError extends SwitchyardError {
  constructor(readonly file: string) {
    super('SY_COMMAND_FAILED', `${file} exists already; pass --force to replace it (after which the published record must change too)`);
  }
}

/** The default selector: `sy` + year and month + r (RSA) or e (Ed25519), e.g. sy202612r: dated, so a new key gets a new one. */
export function defaultSelector(type: DkimKeyType, now: Date): string {
  return `sy${now.getUTCFullYear()}${String(now.getUTCMonth() + 1).padStart(2, '0')}${type === 'rsa' ? 'r' : 'e'}`;
}

export function generateKey(options: { domain: string; selector: string; type: DkimKeyType; dir: string; force: boolean }): GeneratedKey {
  const { domain, selector, type, dir, force } = options;
  const pair = type === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ed25519');
  const pem = pair.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, `${domain}.${selector}.pem`);
  const target = force ? join(dir, `.tmp-${randomBytes(6).toString('hex')}.pem`) : file;
  let fd: number;
  try {
    // O_EXCL: never over an existing key (the mode applies as the file is made: no moment with a wider one).
    fd = openSync(target, 'wx', 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new KeyExistsError(file);
    throw error;
  }
  try {
    writeSync(fd, pem);
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    unlinkSync(target);
    throw error;
  }
  closeSync(fd);
  if (force) renameSync(target, file);
  const publicKey = publicKeyValue(pair.publicKey);
  const text = recordText(type, publicKey);
  return { domain, selector, type, file, record: { name: recordName(selector, domain), type: 'TXT', text, strings: txtStrings(text), zoneLine: zoneLine(selector, domain, type, publicKey) } };
}
