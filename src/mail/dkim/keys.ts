/**
 * DKIM keys: reading a private key file and checking it can sign (RSA of
 * 2048 bits or more, or Ed25519, RFC 8463), and the public half as the `p=`
 * of the DNS record (RSA: the SubjectPublicKeyInfo, base64; Ed25519: the raw
 * 32-byte key, base64, RFC 8463 §4).
 */
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { DkimKeyError } from './errors.js';

export type DkimKeyType = 'rsa' | 'ed25519';
export type DkimAlgorithm = 'rsa-sha256' | 'ed25519-sha256';

export const ALGORITHM_OF: Readonly<Record<DkimKeyType, DkimAlgorithm>> = { rsa: 'rsa-sha256', ed25519: 'ed25519-sha256' };
export const MIN_RSA_BITS = 2048;

export interface SigningKey {
  file: string;
  type: DkimKeyType;
  algorithm: DkimAlgorithm;
  /** The private key, PEM (PKCS#8): what worker threads receive and turn into a KeyObject once. */
  pem: string;
  /** The `p=` value of the DNS record. */
  publicKey: string;
}

/** Check a private KeyObject: its type, and an RSA key's size. Returns the type; throws DkimKeyError naming `file`. */
export function keyTypeOf(key: KeyObject, file: string): DkimKeyType {
  const type = key.asymmetricKeyType;
  if (type === 'ed25519') return 'ed25519';
  if (type === 'rsa') {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < MIN_RSA_BITS) throw new DkimKeyError(file, `an RSA key of ${bits} bits; DKIM needs ${MIN_RSA_BITS} or more (receivers reject shorter ones): make a new one with \`switchyard dkim keygen\``);
    return 'rsa';
  }
  throw new DkimKeyError(file, `a ${type ?? 'unknown'} key; DKIM signs with RSA (rsa-sha256) or Ed25519 (ed25519-sha256)`);
}

/** The `p=` value for the public half of `key`. */
export function publicKeyValue(key: KeyObject): string {
  const pub = key.type === 'public' ? key : createPublicKey(key);
  if (pub.asymmetricKeyType === 'ed25519') {
    // The SPKI of an Ed25519 key is a fixed 12-byte prefix and the 32-byte key.
    return pub.export({ format: 'der', type: 'spki' }).subarray(-32).toString('base64');
  }
  return pub.export({ format: 'der', type: 'spki' }).toString('base64');
}

/** Read and check one private key file. */
export function loadSigningKey(file: string): SigningKey {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT'
        ? 'no such file: make it with `switchyard dkim keygen` or fix `keys` in [dkim.domains]'
        : code === 'EACCES'
          ? 'permission denied: the file must be readable by the user switchyard runs as (and by no one else: chmod 0600)'
          : `cannot be read (${code ?? (error as Error).message})`;
    throw new DkimKeyError(file, reason, { cause: error });
  }
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: text, format: 'pem' });
  } catch (error) {
    throw new DkimKeyError(file, `not a PEM private key (${(error as Error).message})`, { cause: error });
  }
  const type = keyTypeOf(key, file);
  return { file, type, algorithm: ALGORITHM_OF[type], pem: key.export({ format: 'pem', type: 'pkcs8' }).toString(), publicKey: publicKeyValue(key) };
}

/** The keys of one signing domain: one or two, of different types. */
export function loadDomainKeys(files: readonly string[]): SigningKey[] {
  const keys = files.map((file) => loadSigningKey(file));
  if (keys.length === 2 && keys[0]!.type === keys[1]!.type) {
    throw new DkimKeyError(keys[1]!.file, `a second ${keys[1]!.type} key for the same selector as ${keys[0]!.file}; two keys must be one RSA and one Ed25519`);
  }
  return keys;
}
