/**
 * The `[dkim]` section: which keys sign outgoing copies (src/mail/dkim/,
 * runners/outgoing.ts). Signing is on only for domains named here: a list
 * whose domain has no entry (by its own name or in an entry's listDomains)
 * is sent unsigned, as before. Key files are read when the outgoing runner
 * starts; a missing or unusable one stops it starting (SY_DKIM_KEY), never
 * an unsigned send.
 */
import { z } from 'zod';
import { selectorSyntax } from '../mail/dkim/dns-record.js';

export { selectorSyntax };

/** A DNS domain name in ASCII (A-labels): what d= and the TXT owner name hold. */
const domainName = z
  .string()
  .transform((value) => value.toLowerCase().replace(/\.$/, ''))
  .pipe(z.string().regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/, 'a domain name such as lists.example.org (IDNs in their xn-- form)'));


const keyFile = z.string().min(1);

/** A key file, alone (signed with the domain's selector) or with a selector of its own. */
const keyEntry = z.union([keyFile, z.object({ file: keyFile, selector: z.string().regex(selectorSyntax, 'a selector: DNS labels of a-z, 0-9 and -') }).strict()]);

export const dkimDomainSchema = z
  .object({
    selector: z.string().regex(selectorSyntax, 'a selector: DNS labels of a-z, 0-9 and -, such as "sy202612r"').describe('the key is published in DNS at SELECTOR._domainkey.DOMAIN'),
    keys: z
      .array(keyEntry)
      .min(1)
      .max(2)
      .describe(
        'one or two private key files (PEM, from `switchyard dkim keygen`), relative to the home: RSA of 2048 bits or more and/or Ed25519 (RFC 8463); with both, every copy carries both signatures, and the second names its own selector: { file = "...", selector = "..." }',
      ),
    listDomains: z.array(domainName).default([]).describe('domains of lists signed with this domain besides lists at the domain itself (e.g. lists.example.org under example.org: DMARC relaxed alignment)'),
  })
  .strict()
  .transform((entry, ctx) => {
    const keys = entry.keys.map((key) => (typeof key === 'string' ? { file: key, selector: entry.selector } : key));
    if (keys.length === 2 && keys[0]!.selector === keys[1]!.selector) {
      ctx.addIssue({ code: 'custom', path: ['keys'], message: 'two keys need two selectors (one DNS record each): write the second as { file = "...", selector = "..." }' });
    }
    return { ...entry, keys };
  });

export const DEFAULT_SIGNED_HEADERS = ['From', 'To', 'Subject', 'Date', 'Message-ID', 'List-Id', 'List-Unsubscribe', 'List-Unsubscribe-Post'] as const;

const headerName = z.string().regex(/^[\x21-\x39\x3b-\x7e]+$/, 'a header field name');

export const dkimSchema = z
  .object({
    domains: z
      .record(z.string(), dkimDomainSchema)
      .superRefine((domains, ctx) => {
        // Checked here rather than as the record's key schema: zod reports a bad key only as "Invalid key in record".
        for (const domain of Object.keys(domains)) {
          const problem = domainName.safeParse(domain);
          if (!problem.success) ctx.addIssue({ code: 'custom', path: [domain], message: `not a domain name: ${problem.error.issues[0]?.message ?? ''}` });
        }
      })
      .transform((domains) => Object.fromEntries(Object.entries(domains).map(([domain, entry]) => [domain.toLowerCase().replace(/\.$/, ''), entry])))
      .default({})
      .superRefine((domains, ctx) => {
        const claimed = new Map<string, string>();
        for (const domain of Object.keys(domains)) claimed.set(domain, domain);
        for (const [domain, entry] of Object.entries(domains)) {
          for (const listDomain of entry.listDomains) {
            const other = claimed.get(listDomain);
            if (other !== undefined && other !== domain) ctx.addIssue({ code: 'custom', path: [domain, 'listDomains'], message: `${listDomain} is signed by ${other} already` });
            claimed.set(listDomain, domain);
          }
        }
      })
      .describe(
        'signing domains, one table each: [dkim.domains."example.org"] with selector, keys (one or two key files) and listDomains (default []); a list is signed with the entry of its own domain, or the one naming its domain in listDomains; none: unsigned',
      ),
    signedHeaders: z
      .array(headerName)
      .min(1)
      .default([...DEFAULT_SIGNED_HEADERS])
      .refine((names) => names.some((name) => name.toLowerCase() === 'from'), { message: 'must include From (RFC 6376 §5.4)' })
      .describe('header fields signed, those present in the copy; From is listed once more than it occurs (over-signed), so a From added on the way fails the signature'),
  })
  .strict()
  .prefault({})
  .describe('DKIM signing of outgoing copies (see "DKIM signing")');

export type DkimConfig = z.output<typeof dkimSchema>;
export type DkimDomainConfig = z.output<typeof dkimDomainSchema>;

/** The signing domain (d=) of a list at `listDomain`, or undefined: not signed. */
export function signingDomainFor(dkim: DkimConfig, listDomain: string): string | undefined {
  const domain = listDomain.toLowerCase();
  if (dkim.domains[domain] !== undefined) return domain;
  return Object.entries(dkim.domains).find(([, entry]) => entry.listDomains.includes(domain))?.[0];
}
