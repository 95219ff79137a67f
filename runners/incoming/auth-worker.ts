/**
 * Verification of a post as it arrives (DKIM, SPF, DMARC and an existing ARC
 * chain) with mailauth's authenticate(), run in the runner's worker pool
 * (ctx.runTask) under `[auth] timeout`: signatures are RSA/Ed25519 work and
 * DNS waits, never on the runner's event loop. DNS goes through the `[dns]`
 * servers and timeout (a Resolver made here: a function cannot cross into a
 * worker thread).
 *
 * SPF input: the trusted upstream's spf= result when `[auth]
 * trustedAuthservId` names an Authentication-Results on the post, else the
 * client IP and HELO of the topmost Received field (the MTA's record of the
 * SMTP client: over LMTP we only see the MTA) with the envelope sender; with
 * neither, spf=none. DNS failures come back as temperror results from
 * mailauth; anything it throws becomes temperror for every method.
 *
 * Pure computation and DNS, no files: nothing to lose if the worker dies.
 */
import { authenticate, dmarc, type AuthenticateResult, type DMARCResult } from 'mailauth';
import { cachedResolve } from '../../src/mail/dns-resolver.js';
import { receivedClient, trustedSpfResult } from '../../src/mail/auth-results.js';
import { RawMessage } from '../../src/mail/raw-message.js';
import { temperrorOutcome, type AuthOutcome, type AuthTask } from './auth-outcome.js';

export type { AuthOutcome, AuthTask };

/** mailauth's info strings are folded; one line here (RawMessage folds the field as it writes it). */
function oneLine(text: string): string {
  return text.replace(/\r?\n[ \t]*/g, ' ').trim();
}

function domainOf(address: string): string {
  return (address.split('@').pop() ?? '').toLowerCase();
}

/**
 * One Resolver (and its answer cache, `[dns] cacheSize`) per `[dns]` setting per worker thread: a c-ares
 * channel per post would cost a fifth of the verification, and a post's domains are mostly the last post's.
 */
const resolvers = new Map<string, ReturnType<typeof cachedResolve>>();

function resolverFor(task: AuthTask): ReturnType<typeof cachedResolve> {
  const key = `${task.dnsServers.join(',')}|${task.dnsTimeoutMs}|${task.dnsCacheSize}|${task.dnsCacheTtlMs}`;
  let resolver = resolvers.get(key);
  if (resolver === undefined) {
    resolver = cachedResolve({ servers: task.dnsServers, timeoutMs: task.dnsTimeoutMs, cacheSize: task.dnsCacheSize, cacheTtlMs: task.dnsCacheTtlMs });
    resolvers.set(key, resolver);
  }
  return resolver;
}

export default async function verify(task: AuthTask): Promise<AuthOutcome> {
  const bytes = Buffer.from(task.message.buffer, task.message.byteOffset, task.message.byteLength);
  const message = RawMessage.parse(bytes);
  const dns = resolverFor(task);
  const resolver = (name: string, rrtype: string): Promise<string[][] | string[]> => dns(name, rrtype) as Promise<string[][] | string[]>;
  const trusted = trustedSpfResult(message, task.trustedAuthservId);
  const client = trusted === undefined ? receivedClient(message) : {};
  const sender = task.envelopeSender !== undefined && task.envelopeSender !== '' ? task.envelopeSender : undefined;
  let result: AuthenticateResult;
  try {
    result = await authenticate(bytes, {
      resolver,
      mta: task.authservId,
      disableBimi: true,
      ...(sender === undefined ? {} : { sender }),
      ...(client.ip === undefined ? {} : { ip: client.ip }),
      ...(client.helo === undefined ? {} : { helo: client.helo }),
    });
  } catch (error) {
    return temperrorOutcome(task.authservId, `verification failed: ${(error as Error).message}`);
  }

  // mailauth reports the algorithm as `algo` (its typings say `algorithm`).
  const dkim = result.dkim.results.map((row) => ({ domain: row.signingDomain ?? '', selector: row.selector ?? '', algorithm: (row as { algo?: string }).algo ?? row.algorithm ?? '', result: row.status.result }));
  const parts = result.dkim.results.map((row) => oneLine(row.info));
  if (parts.length === 0) parts.push('dkim=none');

  let spf: AuthOutcome['spf'];
  let dmarcResult: DMARCResult | false = result.dmarc;
  if (trusted !== undefined) {
    const domain = trusted.mailfrom === undefined ? undefined : domainOf(trusted.mailfrom);
    spf = { result: trusted.result, source: 'trusted', ...(domain === undefined ? {} : { domain }) };
    parts.push(`spf=${trusted.result} (as ${task.trustedAuthservId} found)${trusted.mailfrom === undefined ? '' : ` smtp.mailfrom=${trusted.mailfrom}`}`);
    // DMARC again with the trusted SPF result in place of the one mailauth could not evaluate.
    if (result.dkim.headerFrom.length > 0) {
      dmarcResult = await dmarc({
        headerFrom: result.dkim.headerFrom,
        spfDomains: trusted.result === 'pass' && domain !== undefined ? [domain] : [],
        dkimDomains: result.dkim.results.filter((r) => r.status.result === 'pass').map((r) => ({ domain: r.signingDomain, ...(r.id === undefined ? {} : { id: r.id }), ...(r.status.aligned === undefined ? {} : { aligned: r.status.aligned }) })),
        ...(result.arc === false ? {} : { arcResult: result.arc }),
        resolver,
      });
    }
  } else if (client.ip === undefined || result.spf === false) {
    spf = { result: 'none', source: 'none' };
    parts.push('spf=none (no client IP in the topmost Received field)');
  } else {
    spf = { result: result.spf.status.result, domain: result.spf.domain, clientIp: client.ip, source: 'received' };
    parts.push(oneLine(result.spf.info));
  }
  const arc = result.arc === false ? { result: 'none', instance: 0 } : { result: result.arc.status.result, instance: typeof result.arc.i === 'number' ? result.arc.i : 0 };
  if (result.arc !== false && result.arc.info) parts.push(oneLine(result.arc.info));
  const dmarcOutcome = dmarcResult === false ? { result: 'none' } : { result: dmarcResult.status.result, domain: dmarcResult.domain, ...(dmarcResult.policy ? { policy: dmarcResult.policy } : {}) };
  if (dmarcResult !== false && dmarcResult.info) parts.push(oneLine(dmarcResult.info));
  // Values quoted from the post (header.i=, comments) must not carry a control character into our field.
  return { authservId: task.authservId, dkim, spf, dmarc: dmarcOutcome, arc, results: `${task.authservId}; ${parts.join('; ')}`.replace(/[\0-\x08\x0a-\x1f\x7f]/g, ' ') };
}
