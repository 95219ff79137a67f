/**
 * Whether a bulk copy gets an ARC set (outgoing/sign-worker.ts), and with
 * what: the out entry carries what the incoming runner verified (`auth`:
 * our Authentication-Results value and the ARC chain's result on arrival)
 * and the list's domain has an RSA key in `[dkim]` (RFC 8617 defines
 * rsa-sha256 only; an Ed25519-only domain is signed, not sealed).
 *
 * cv= is the chain as verified: `none` (no ARC sets came in: ours is i=1) or
 * `pass`. A chain that failed or could not be checked (fail, temperror,
 * permerror) is not continued: a set with cv=fail would only say the chain
 * ends here, and mailauth does not seal it either.
 */
import type { JsonObject } from '../../queues/index.js';
import { headerValueProblem } from '../../src/mail/header-value.js';
import type { SigningSpec } from '../../src/mail/dkim/signer.js';
import type { ArcSealSpec } from './sign-worker.js';

export function arcSealFor(metadata: JsonObject, dkim: SigningSpec): ArcSealSpec | undefined {
  const auth = metadata.auth;
  if (auth === null || typeof auth !== 'object' || Array.isArray(auth)) return undefined;
  const results = auth.results;
  const arc = auth.arc;
  if (typeof results !== 'string' || results === '' || headerValueProblem(results) !== null) return undefined;
  if (arc === null || typeof arc !== 'object' || Array.isArray(arc)) return undefined;
  const cv = arc.result;
  if (cv !== 'none' && cv !== 'pass') return undefined;
  const key = dkim.keys.find((candidate) => candidate.algorithm === 'rsa-sha256');
  if (key === undefined) return undefined;
  return { domain: dkim.domain, selector: key.selector, pem: key.pem, authResults: results, cv };
}
