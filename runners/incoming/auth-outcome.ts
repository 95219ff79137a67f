/**
 * The shapes the incoming runner and its verification worker
 * (auth-worker.ts) exchange, apart from the worker so the runner's own
 * thread never loads mailauth.
 */
export interface AuthTask {
  message: Uint8Array;
  authservId: string;
  trustedAuthservId: string;
  /** The envelope sender (MAIL FROM as the MTA gave it), '' for the null sender. */
  envelopeSender?: string;
  dnsServers: string[];
  dnsTimeoutMs: number;
  dnsCacheSize: number;
  dnsCacheTtlMs: number;
}

export interface DkimOutcome {
  domain: string;
  selector: string;
  algorithm: string;
  result: string;
}

/** What the runner records in the entry's metadata as `auth`, and the Authentication-Results value it prepends. */
export interface AuthOutcome {
  authservId: string;
  dkim: DkimOutcome[];
  spf: { result: string; domain?: string; clientIp?: string; source: 'received' | 'trusted' | 'none' };
  dmarc: { result: string; domain?: string; policy?: string };
  arc: { result: string; instance: number };
  /** The Authentication-Results value: `authserv-id; method=result ...; ...` on one line. */
  results: string;
}

/** Every method temperror: what a verification that failed as a whole reports. */
export function temperrorOutcome(authservId: string, reason: string): AuthOutcome {
  const comment = reason.replace(/[()\\\r\n\0]/g, ' ').slice(0, 200);
  return {
    authservId,
    dkim: [],
    spf: { result: 'temperror', source: 'none' },
    dmarc: { result: 'temperror' },
    arc: { result: 'temperror', instance: 0 },
    results: `${authservId}; dkim=temperror (${comment}); spf=temperror; dmarc=temperror; arc=temperror`,
  };
}

