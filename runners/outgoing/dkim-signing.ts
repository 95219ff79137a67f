/**
 * Which keys sign an out entry (`[dkim]`, src/config/dkim-schema.ts): every
 * configured key file is read and checked once, when the outgoing runner is
 * made, so a missing, unreadable or unusable key stops the runner starting
 * (DkimKeyError, SY_DKIM_KEY: `switchyard start` fails with it, and after a
 * `restart` the runner shows `failed` with it in `status`) rather than
 * letting copies go out unsigned. Reads key files only; writes nothing.
 */
import { signingDomainFor, type DkimConfig } from '../../src/config/dkim-schema.js';
import { loadConfiguredKeys } from '../../src/mail/dkim/configured-keys.js';
import type { SigningSpec } from '../../src/mail/dkim/signer.js';

export class OutgoingSigning {
  private constructor(
    private readonly dkim: DkimConfig,
    private readonly specs: ReadonlyMap<string, SigningSpec>,
  ) {}

  /** Read and check every key of `[dkim]` (paths relative to `home`); throws DkimKeyError. */
  static load(dkim: DkimConfig, home: string | undefined): OutgoingSigning {
    const specs = new Map<string, SigningSpec>();
    const loaded = loadConfiguredKeys(dkim, home);
    for (const [domain, entry] of Object.entries(dkim.domains)) {
      const keys = loaded.get(domain)!;
      specs.set(domain, {
        domain,
        keys: keys.map((key, i) => ({ algorithm: key.algorithm, selector: entry.keys[i]!.selector, pem: key.pem })),
        signedHeaders: dkim.signedHeaders,
      });
    }
    return new OutgoingSigning(dkim, specs);
  }

  get enabled(): boolean {
    return this.specs.size > 0;
  }

  /** The keys signing mail of the list at `listAddress`; undefined: its domain is not configured (sent unsigned). */
  specFor(listAddress: string): SigningSpec | undefined {
    const domain = signingDomainFor(this.dkim, listAddress.slice(listAddress.lastIndexOf('@') + 1));
    return domain === undefined ? undefined : this.specs.get(domain);
  }

  /** One line for `start`: what signs. */
  describe(): string {
    return `DKIM signing for ${[...this.specs.values()].map((spec) => `${spec.domain} (${spec.keys.map((key) => `${key.algorithm} s=${key.selector}`).join(', ')})`).join('; ')}`;
  }
}
