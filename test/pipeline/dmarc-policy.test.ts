/**
 * DMARC policy discovery (src/mail/dmarc-policy.ts) and the mitigation it
 * leads to (the posting chain's dmarc-mitigation rule and the pipeline's
 * dmarc handler), over a real DNS responder on 127.0.0.1 (no network): one
 * table of policy record shapes, each with the policy found and whether a
 * post From: that domain is munged.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runChain, type ChainContext } from '../../runners/incoming/chain.js';
import { HANDLERS } from '../../runners/incoming/pipeline.js';
import { RULES } from '../../runners/incoming/rules/index.js';
import { DMARC_REJECT_REASON } from '../../runners/incoming/rules/dmarc-mitigation.js';
import { lookupDmarcPolicy, organisationalDomain, parseDmarcRecord, type TxtResolver } from '../../src/mail/dmarc-policy.js';
import { txtResolver } from '../../src/mail/dns-resolver.js';
import { RawMessage } from '../../src/mail/raw-message.js';
import { DnsResponder } from '../fixtures/dns-responder.js';
import { makeFixture, type Fixture } from './support.js';

let dns: DnsResponder;
let resolveTxt: TxtResolver;
let fixture: Fixture | undefined;

beforeAll(async () => {
  dns = await DnsResponder.start({
    '_dmarc.none.example': 'v=DMARC1; p=none; rua=mailto:d@none.example',
    '_dmarc.quarantine.example': 'v=DMARC1; p=quarantine',
    '_dmarc.reject.example': 'v=DMARC1;p=reject;adkim=s',
    '_dmarc.reject-pct0.example': 'v=DMARC1; p=reject; pct=0',
    '_dmarc.quarantine-pct0.example': 'v=DMARC1; p=quarantine; pct=0',
    '_dmarc.quarantine-pct20.example': 'v=DMARC1; p=quarantine; pct=20',
    '_dmarc.sp-none.example': 'v=DMARC1; p=reject; sp=none',
    '_dmarc.sp-reject.example': 'v=DMARC1; p=none; sp=reject',
    '_dmarc.inherit.example': 'v=DMARC1; p=quarantine',
    '_dmarc.own.inherit.example': 'v=DMARC1; p=none',
    '_dmarc.sp-bogus.example': 'v=DMARC1; p=reject; sp=bogus',
    '_dmarc.example.co.uk': 'v=DMARC1; p=reject',
    '_dmarc.co.uk': 'v=DMARC1; p=none',
    '_dmarc.example.kyoto.jp': 'v=DMARC1; p=reject',
    '_dmarc.kyoto.jp': 'v=DMARC1; p=none',
    '_dmarc.bad-p.example': 'v=DMARC1; p=rejected',
    '_dmarc.no-p.example': 'v=DMARC1; rua=mailto:d@no-p.example',
    '_dmarc.lowercase-v.example': 'v=dmarc1; p=reject',
    '_dmarc.two.example': ['v=DMARC1; p=reject', 'v=DMARC1; p=quarantine'],
    '_dmarc.other-txt.example': ['google-site-verification=abc', 'v=DMARC1; p=reject'],
    '_dmarc.v-not-first.example': 'p=reject; v=DMARC1',
    '_dmarc.no-record.example': 'some unrelated text',
  });
  resolveTxt = txtResolver({ servers: [dns.server], timeoutMs: 500 });
});

afterAll(async () => {
  await dns.close();
});

afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
});

interface Row {
  shape: string;
  domain: string;
  status: 'policy' | 'none' | 'temperror';
  policy?: 'none' | 'quarantine' | 'reject';
  recordDomain?: string;
  munged: boolean;
}

const TABLE: Row[] = [
  { shape: 'p=none', domain: 'none.example', status: 'policy', policy: 'none', munged: false },
  { shape: 'p=quarantine', domain: 'quarantine.example', status: 'policy', policy: 'quarantine', munged: true },
  { shape: 'p=reject', domain: 'reject.example', status: 'policy', policy: 'reject', munged: true },
  { shape: 'p=reject pct=0 (the rest is quarantined)', domain: 'reject-pct0.example', status: 'policy', policy: 'reject', munged: true },
  { shape: 'p=quarantine pct=0 (nothing applies)', domain: 'quarantine-pct0.example', status: 'policy', policy: 'quarantine', munged: false },
  { shape: 'p=quarantine pct=20', domain: 'quarantine-pct20.example', status: 'policy', policy: 'quarantine', munged: true },
  { shape: 'subdomain: sp=none under p=reject', domain: 'mail.sp-none.example', status: 'policy', policy: 'none', recordDomain: 'sp-none.example', munged: false },
  { shape: 'subdomain: sp=reject under p=none', domain: 'a.b.sp-reject.example', status: 'policy', policy: 'reject', recordDomain: 'sp-reject.example', munged: true },
  { shape: 'the organisational domain itself ignores sp=', domain: 'sp-none.example', status: 'policy', policy: 'reject', recordDomain: 'sp-none.example', munged: true },
  { shape: 'subdomain without sp=: p= applies', domain: 'mail.inherit.example', status: 'policy', policy: 'quarantine', recordDomain: 'inherit.example', munged: true },
  { shape: "subdomain with its own record: its own p=", domain: 'own.inherit.example', status: 'policy', policy: 'none', recordDomain: 'own.inherit.example', munged: false },
  { shape: 'subdomain: invalid sp= ignored for p=', domain: 'x.sp-bogus.example', status: 'policy', policy: 'reject', recordDomain: 'sp-bogus.example', munged: true },
  { shape: 'a subdomain under a public suffix (example.co.uk, not co.uk)', domain: 'news.example.co.uk', status: 'policy', policy: 'reject', recordDomain: 'example.co.uk', munged: true },
  { shape: 'a PSL-only suffix (kyoto.jp)', domain: 'mail.example.kyoto.jp', status: 'policy', policy: 'reject', recordDomain: 'example.kyoto.jp', munged: true },
  { shape: 'no record anywhere', domain: 'mail.nothing.example', status: 'none', munged: false },
  { shape: 'malformed: p= not a policy', domain: 'bad-p.example', status: 'none', munged: false },
  { shape: 'malformed: no p=', domain: 'no-p.example', status: 'none', munged: false },
  { shape: 'malformed: v=dmarc1 in the wrong case', domain: 'lowercase-v.example', status: 'none', munged: false },
  { shape: 'malformed: two DMARC records', domain: 'two.example', status: 'none', munged: false },
  { shape: 'another TXT beside the DMARC record', domain: 'other-txt.example', status: 'policy', policy: 'reject', munged: true },
  { shape: 'v= not the first tag: not a DMARC record', domain: 'v-not-first.example', status: 'none', munged: false },
  { shape: 'a TXT record that is not DMARC', domain: 'no-record.example', status: 'none', munged: false },
];

function post(domain: string): Buffer {
  return Buffer.from(`From: Anne Person <anne@${domain}>\r\nTo: test@lists.example.org\r\nSubject: hello\r\nMessage-ID: <p1@${domain}>\r\n\r\nbody\r\n`);
}

describe('DMARC policy records and the mitigation they lead to (munge_from)', () => {
  it.each(TABLE)('$shape ($domain): $status $policy, munged: $munged', async (row) => {
    const lookup = await lookupDmarcPolicy(row.domain, resolveTxt);
    expect(lookup.status).toBe(row.status);
    if (lookup.status === 'policy') {
      expect(lookup.policy).toBe(row.policy);
      expect(lookup.recordDomain).toBe(row.recordDomain ?? row.domain);
    }

    fixture = await makeFixture({ dmarcMitigateAction: 'munge_from' });
    const ctx = { ...(await fixture.context(post(row.domain))), resolveTxt };
    await HANDLERS.dmarc!(ctx);
    expect(ctx.metadata.dmarc).toBe(row.munged);
    expect(ctx.metadata.dmarcPolicy).toMatchObject({ status: row.status, domain: row.domain });
    if (row.munged) {
      expect(ctx.message.get('from')).toBe('Anne Person via Test <test@lists.example.org>');
      expect(ctx.message.get('reply-to')).toBe(`Anne Person <anne@${row.domain}>`);
    } else {
      expect(ctx.message.toBuffer().equals(post(row.domain))).toBe(true);
    }
  });
});

describe('lookupDmarcPolicy', () => {
  it('never asks about a public suffix: a subdomain of example.co.uk falls back to example.co.uk only', async () => {
    dns.queries.length = 0;
    await lookupDmarcPolicy('news.example.co.uk', resolveTxt);
    expect(dns.queries).toEqual(['_dmarc.news.example.co.uk', '_dmarc.example.co.uk']);
  });

  it('a DNS timeout is temperror (no policy, never an exception)', async () => {
    dns.silence('_dmarc.silent.example');
    const lookup = await lookupDmarcPolicy('silent.example', txtResolver({ servers: [dns.server], timeoutMs: 200 }));
    expect(lookup).toMatchObject({ status: 'temperror', domain: 'silent.example' });
    if (lookup.status === 'temperror') expect(lookup.reason).toMatch(/_dmarc\.silent\.example failed: ETIMEOUT/);
  });

  it('organisationalDomain follows the Public Suffix List', () => {
    expect(organisationalDomain('a.b.example.org')).toBe('example.org');
    expect(organisationalDomain('mail.example.co.uk')).toBe('example.co.uk');
    expect(organisationalDomain('mail.example.kyoto.jp')).toBe('example.kyoto.jp');
    expect(organisationalDomain('alice.github.io')).toBe('alice.github.io');
    expect(organisationalDomain('co.uk')).toBeUndefined();
  });

  it('parseDmarcRecord: pct out of range falls back to 100; junk without = is malformed', () => {
    expect(parseDmarcRecord('v=DMARC1; p=quarantine; pct=150')).toEqual({ p: 'quarantine', pct: 100 });
    expect(parseDmarcRecord('v=DMARC1; p=reject; sp=none; pct=5')).toEqual({ p: 'reject', sp: 'none', pct: 5 });
    expect(parseDmarcRecord('v=DMARC1; p=reject; junk')).toHaveProperty('malformed');
  });
});

describe('the dmarc handler, Mailman rules', () => {
  it('a temperror lookup leaves the post as it is, logged', async () => {
    dns.silence('_dmarc.silent2.example');
    fixture = await makeFixture({ dmarcMitigateAction: 'munge_from' });
    const ctx = { ...(await fixture.context(post('silent2.example'))), resolveTxt: txtResolver({ servers: [dns.server], timeoutMs: 200 }) };
    await HANDLERS.dmarc!(ctx);
    expect(ctx.metadata.dmarc).toBe(false);
    expect(ctx.metadata.dmarcPolicy).toMatchObject({ status: 'temperror' });
    expect(ctx.message.get('from')).toBe('Anne Person <anne@silent2.example>');
    expect(fixture.lines.some((line) => line.msg.startsWith('dmarc: policy lookup failed'))).toBe(true);
  });

  it('explicit_header Reply-To: the original From goes to Cc (Mailman), the list\'s Reply-To is kept', async () => {
    fixture = await makeFixture({ dmarcMitigateAction: 'munge_from', replyGoesToList: 'explicit_header', replyToAddress: 'talk@lists.example.org' });
    const input = Buffer.from('From: Anne Person <anne@reject.example>\r\nReply-To: talk@lists.example.org\r\nTo: test@lists.example.org\r\nSubject: hi\r\n\r\nbody\r\n');
    const ctx = { ...(await fixture.context(input)), resolveTxt };
    await HANDLERS.dmarc!(ctx);
    expect(ctx.message.get('reply-to')).toBe('talk@lists.example.org');
    expect(ctx.message.get('cc')).toBe('Anne Person <anne@reject.example>');
  });

  it('no display name: the member\'s, else the address with its domain hidden, never the address as a name', async () => {
    fixture = await makeFixture({ dmarcMitigateAction: 'munge_from' });
    await fixture.store.addMember('test@lists.example.org', { address: 'bob@reject.example', displayName: 'Bob Member' });
    const bob = { ...(await fixture.context(Buffer.from('From: bob@reject.example\r\nSubject: a\r\n\r\nb\r\n'))), resolveTxt };
    await HANDLERS.dmarc!(bob);
    expect(bob.message.get('from')).toBe('Bob Member via Test <test@lists.example.org>');
    const carol = { ...(await fixture.context(Buffer.from('From: <carol@reject.example>\r\nSubject: a\r\n\r\nb\r\n'))), resolveTxt };
    await HANDLERS.dmarc!(carol);
    expect(carol.message.get('from')).toBe('carol--- via Test <test@lists.example.org>');
    expect(carol.message.get('reply-to')).toBe('carol@reject.example');
  });

  it('dmarcMitigateUnconditionally munges a post from a domain without a policy, with no lookup', async () => {
    fixture = await makeFixture({ dmarcMitigateAction: 'munge_from', dmarcMitigateUnconditionally: true });
    dns.queries.length = 0;
    const ctx = { ...(await fixture.context(post('none.example'))), resolveTxt };
    await HANDLERS.dmarc!(ctx);
    expect(ctx.message.get('from')).toBe('Anne Person via Test <test@lists.example.org>');
    expect(dns.queries).toEqual([]);
  });
});

describe('the dmarc-mitigation rule', () => {
  async function chain(action: 'reject' | 'discard' | 'munge_from', domain: string): Promise<{ decision: Awaited<ReturnType<typeof runChain>>; metadata: ChainContext['metadata'] }> {
    await fixture?.close();
    fixture = await makeFixture({ dmarcMitigateAction: action });
    const metadata = {};
    const ctx: ChainContext = {
      list: fixture.list,
      message: RawMessage.parse(post(domain)),
      summary: { parsed: true, textLines: [], attachments: 0, attachmentBytes: 0 } as unknown as ChainContext['summary'],
      sender: `anne@${domain}`,
      metadata,
      store: fixture.store,
      limits: { maxHops: 25, maxFromAddresses: 1 },
      resolveTxt,
    };
    return { decision: await runChain(ctx, [RULES.get('dmarc-mitigation')]), metadata };
  }

  it('dmarcMitigateAction reject refuses a p=reject author with Mailman\'s notice; p=none passes', async () => {
    const refused = await chain('reject', 'reject.example');
    expect(refused.decision).toEqual({ rule: 'dmarc-mitigation', action: 'reject', reason: DMARC_REJECT_REASON });
    const passed = await chain('reject', 'none.example');
    expect(passed.decision.action).toBe('accept');
    expect(passed.decision.rule).toBe('end-of-chain');
  });

  it('discard drops a p=quarantine author; munge_from passes it on marked for the handler', async () => {
    expect((await chain('discard', 'quarantine.example')).decision.action).toBe('discard');
    const marked = await chain('munge_from', 'quarantine.example');
    expect(marked.decision.action).toBe('accept');
    expect(marked.metadata).toMatchObject({ dmarc: true, dmarcPolicy: { status: 'policy', policy: 'quarantine', recordDomain: 'quarantine.example' } });
  });
});
