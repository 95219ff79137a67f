/**
 * The verification benchmark (issue 17 §1): how much the incoming runner's
 * verification (runners/incoming/auth-worker.ts: SPF input from the topmost
 * Received, mailauth's authenticate(), our Authentication-Results) costs
 * beside mailauth's authenticate() alone on the same messages.
 *
 * - messages verified per second, in process, one thread, VERIFY_CONCURRENCY
 *   in flight: posts of about 4 KiB signed with RSA 2048 and Ed25519 (both
 *   signatures on each), SPF and DMARC records, all served by the DNS
 *   responder fixture on 127.0.0.1 (real UDP, no cache on either side);
 *   floor: authenticate() with a resolver over the same responder, same
 *   messages, same round. The ratio is what our side leaves of mailauth's
 *   rate.
 *
 *     node dist/test/bench/auth.bench.js
 *
 * Scale with BENCH_AUTH_SECONDS (3), BENCH_ROUNDS (3), BENCH_AUTH_CONCURRENCY (8).
 * No files.
 */
import { generateKeyPairSync } from 'node:crypto';
import { Resolver } from 'node:dns/promises';
import { authenticate, dkimSign } from 'mailauth';
import verify from '../../runners/incoming/auth-worker.js';
import { DnsResponder } from '../fixtures/dns-responder.js';
import { envInt, median, Report, type Row } from './harness.js';

const SECONDS = envInt('BENCH_AUTH_SECONDS', 3);
const ROUNDS = envInt('BENCH_ROUNDS', 3);
const CONCURRENCY = envInt('BENCH_AUTH_CONCURRENCY', 8);
const MESSAGES = 50;

const report = new Report('auth');

async function fixtures(): Promise<{ dns: DnsResponder; messages: Buffer[] }> {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ed = generateKeyPairSync('ed25519');
  const dns = await DnsResponder.start({
    's1._domainkey.author.example': `v=DKIM1; k=rsa; p=${(rsa.publicKey.export({ type: 'spki', format: 'der' }) as Buffer).toString('base64')}`,
    'e1._domainkey.author.example': `v=DKIM1; k=ed25519; p=${(ed.publicKey.export({ type: 'spki', format: 'der' }) as Buffer).subarray(-32).toString('base64')}`,
    '_dmarc.author.example': 'v=DMARC1; p=reject',
    'author.example': 'v=spf1 ip4:192.0.2.0/24 -all',
  });
  const paragraph = 'Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua.\r\n';
  const messages: Buffer[] = [];
  for (let i = 0; i < MESSAGES; i++) {
    const post = Buffer.from(
      `From: Anne Author <anne@author.example>\r\nTo: team@lists.example.org\r\nSubject: bench ${i}\r\nDate: Sat, 05 Dec 2026 10:00:00 +0000\r\nMessage-ID: <bench-${i}@author.example>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n${paragraph.repeat(32)}`,
    );
    const signed = await dkimSign(post, {
      signingDomain: 'author.example',
      selector: 's1',
      privateKey: rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
      signatureData: [
        { signingDomain: 'author.example', selector: 's1', privateKey: rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, algorithm: 'rsa-sha256' },
        { signingDomain: 'author.example', selector: 'e1', privateKey: ed.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, algorithm: 'ed25519-sha256' },
      ],
    });
    const received = `Received: from mail.author.example (mail.author.example [192.0.2.${(i % 200) + 1}])\r\n\tby mx.lists.example.org (Postfix) with ESMTPS id B${i}; Sat, 05 Dec 2026 10:00:01 +0000\r\n`;
    messages.push(Buffer.concat([Buffer.from(received), Buffer.from(signed.signatures), post]));
  }
  return { dns, messages };
}

/** Completed calls per second over about SECONDS, CONCURRENCY at a time. */
async function rate(work: (i: number) => Promise<unknown>): Promise<number> {
  let done = 0;
  let next = 0;
  const started = performance.now();
  const until = started + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < until) {
        await work(next++);
        done++;
      }
    }),
  );
  return done / ((performance.now() - started) / 1000);
}

const { dns, messages } = await fixtures();
try {
  const servers = [dns.server];
  const floorResolver = new Resolver({ timeout: 5000, tries: 2 });
  floorResolver.setServers(servers);
  const resolver = (name: string, rrtype: string) => floorResolver.resolve(name, rrtype) as Promise<string[][] | string[]>;
  // Both once, checked: a benchmark of failing verifications would measure nothing.
  const check = await verify({ message: messages[0]!, authservId: 'lists.example.org', trustedAuthservId: '', envelopeSender: 'anne@author.example', dnsServers: servers, dnsTimeoutMs: 5000, dnsCacheSize: 0, dnsCacheTtlMs: 0 });
  if (check.dkim.some((d) => d.result !== 'pass') || check.spf.result !== 'pass' || check.dmarc.result !== 'pass') throw new Error(`verification does not pass: ${check.results}`);

  report.setting('seconds per measurement', SECONDS);
  report.setting('rounds', ROUNDS);
  report.setting('in flight', CONCURRENCY);
  report.printHeader();
  report.section('messages verified per second, in process, one thread (~4 KiB posts, RSA 2048 + Ed25519 signatures, SPF, DMARC; DNS on loopback)', [
    "floor: mailauth's authenticate() alone on the same messages with a resolver over the same DNS responder, same round",
  ]);
  const ours: number[] = [];
  const cached: number[] = [];
  const floors: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    // Like for like: no answer cache, every lookup goes to the DNS responder as the floor's do.
    ours.push(await rate((i) => verify({ message: messages[i % MESSAGES]!, authservId: 'lists.example.org', trustedAuthservId: '', envelopeSender: 'anne@author.example', dnsServers: servers, dnsTimeoutMs: 5000, dnsCacheSize: 0, dnsCacheTtlMs: 0 })));
    // As runners run it: the [dns] answer cache at its defaults.
    cached.push(await rate((i) => verify({ message: messages[i % MESSAGES]!, authservId: 'lists.example.org', trustedAuthservId: '', envelopeSender: 'anne@author.example', dnsServers: servers, dnsTimeoutMs: 5000, dnsCacheSize: 10_000, dnsCacheTtlMs: 300_000 })));
    floors.push(await rate((i) => authenticate(messages[i % MESSAGES]!, { resolver, ip: `192.0.2.${(i % MESSAGES % 200) + 1}`, helo: 'mail.author.example', sender: 'anne@author.example', mta: 'lists.example.org', disableBimi: true })));
  }
  const ratios = ours.map((v, i) => v / floors[i]!);
  const row: Row = { name: 'posts verified/s (auth-worker verify)', unit: '/s', value: median(ours), floor: median(floors), ratio: median(ratios), rounds: { value: ours, floor: floors, ratio: ratios } };
  report.row(row);
  const cachedRatios = cached.map((v, i) => v / floors[i]!);
  report.row({ name: 'posts verified/s with the [dns] answer cache', unit: '/s', value: median(cached), floor: median(floors), ratio: median(cachedRatios), rounds: { value: cached, floor: floors, ratio: cachedRatios } });
} finally {
  await dns.close();
}
await report.finish();
