/**
 * Every pipeline handler on real-world-shaped messages (test/pipeline/messages,
 * each with LF and with CRLF line endings): what it changes, and that every
 * byte it has no reason to change (other fields, bodies, parts) is the same.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { HANDLERS, runPipeline, UnknownHandlerError } from '../../runners/incoming/pipeline.js';
import { RawMessage } from '../../src/mail/raw-message.js';
import {  } from '../../src/store/index.js';
import { defaultSettings } from '../../src/store/list-settings.js';
import { field, leafParts, loadMessage, makeFixture, type Eol, type Fixture } from './support.js';

let fixture: Fixture | undefined;
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
});

async function setup(settings: Parameters<typeof makeFixture>[0] = {}, members: string[] = []): Promise<Fixture> {
  fixture = await makeFixture(settings, members);
  return fixture;
}

/** The fields of `after` that are not in `before`, and those of `before` gone from `after`, by raw bytes. */
function fieldDiff(before: Buffer, after: Buffer): { added: string[]; removed: string[] } {
  const a = RawMessage.parse(before).fields.map((f) => f.raw.toString('latin1'));
  const b = RawMessage.parse(after).fields.map((f) => f.raw.toString('latin1'));
  return { added: b.filter((raw) => !a.includes(raw)), removed: a.filter((raw) => !b.includes(raw)) };
}

const EOLS: Eol[] = ['lf', 'crlf'];

describe.each(EOLS)('with %s line endings', (eol) => {
  it('cleanse removes Approved:, Urgent: and read-receipt requests and nothing else', async () => {
    const f = await setup();
    const input = await loadMessage('plain-ascii.eml', eol);
    const ctx = await f.context(input);
    await HANDLERS.cleanse!(ctx);
    const out = ctx.message.toBuffer();
    const diff = fieldDiff(input, out);
    expect(diff.added).toEqual([]);
    expect(diff.removed.map((raw) => raw.split(':')[0])).toEqual(['Approved', 'Urgent', 'Disposition-Notification-To']);
    expect(ctx.message.body.equals(RawMessage.parse(input).body)).toBe(true);
  });

  it('subject-prefix adds [Test] once, keeping the rest of the raw field', async () => {
    const f = await setup();
    const input = await loadMessage('plain-ascii.eml', eol);
    const ctx = await f.context(input);
    await HANDLERS['subject-prefix']!(ctx);
    expect(ctx.message.get('subject')).toBe('[Test] Meeting notes for Tuesday');
    const diff = fieldDiff(input, ctx.message.toBuffer());
    expect(diff.removed).toHaveLength(1);
    expect(ctx.message.body.equals(RawMessage.parse(input).body)).toBe(true);
    // Twice is once: a re-run entry does not get a second prefix.
    await HANDLERS['subject-prefix']!(ctx);
    expect(ctx.message.get('subject')).toBe('[Test] Meeting notes for Tuesday');
  });

  it('subject-prefix keeps RFC 2047 encoded words byte for byte and decodes to the prefixed text', async () => {
    const f = await setup();
    for (const [name, decoded] of [
      ['qp-utf8.eml', '[Test] Café ☕ this afternoon?'],
      ['latin1-8bit.eml', '[Test] Grüße aus München'],
    ] as const) {
      const input = await loadMessage(name, eol);
      const rawBefore = RawMessage.parse(input).fields.find((x) => x.key === 'subject')!.raw.toString('latin1');
      const ctx = await f.context(input);
      await HANDLERS['subject-prefix']!(ctx);
      const rawAfter = ctx.message.fields.find((x) => x.key === 'subject')!.raw.toString('latin1');
      expect(rawAfter).toBe(rawBefore.replace(/^Subject: /, 'Subject: [Test] '));
      expect(ctx.message.decoded('subject')).toBe(decoded);
    }
  });

  it.each([
    ['Re: [Test] agenda'],
    ['Re: Re: [Test] agenda'],
    ['AW: [Test] Termin'],
    ['AW: Re: [test] Termin'],
    ['Fwd: [Test] minutes'],
    ['=?utf-8?q?Re=3A_=5BTest=5D_caf=C3=A9?='],
  ])('subject-prefix leaves a subject that already has the prefix exactly as it is: %s', async (subject) => {
    const f = await setup();
    const input = Buffer.from(`From: a@example.com\nSubject: ${subject}\n\nbody\n`.replace(/\n/g, eol === 'crlf' ? '\r\n' : '\n'));
    const ctx = await f.context(input);
    await HANDLERS['subject-prefix']!(ctx);
    expect(ctx.message.toBuffer().equals(input)).toBe(true);
  });

  it('subject-prefix prefixes replies without the prefix and supplies a missing subject', async () => {
    const f = await setup();
    const nl = eol === 'crlf' ? '\r\n' : '\n';
    const reply = await f.context(Buffer.from(`From: a@example.com${nl}Subject: Re: Re: lunch${nl}${nl}x${nl}`));
    await HANDLERS['subject-prefix']!(reply);
    expect(reply.message.get('subject')).toBe('[Test] Re: Re: lunch');
    const none = await f.context(Buffer.from(`From: a@example.com${nl}${nl}x${nl}`));
    await HANDLERS['subject-prefix']!(none);
    expect(none.message.get('subject')).toBe('[Test] (no subject)');
    expect(none.message.toBuffer().toString('latin1')).toContain(`Subject: [Test] (no subject)${nl}${nl}x${nl}`);
  });

  it('subject-prefix writes a non-ASCII prefix as an encoded word', async () => {
    const f = await setup({ subjectPrefix: '[Bücher] ' });
    const ctx = await f.context(await loadMessage('plain-ascii.eml', eol));
    await HANDLERS['subject-prefix']!(ctx);
    expect(ctx.message.get('subject')).toMatch(/^=\?UTF-8\?Q\?/i);
    expect(ctx.message.decoded('subject')).toBe('[Bücher] Meeting notes for Tuesday');
  });

  it('list-headers adds RFC 2919/2369/8058 fields and replaces a sender-supplied List-Id', async () => {
    const f = await setup({ archiveUrl: 'https://lists.example.org/archives/test/', listUnsubscribeUrl: 'https://lists.example.org/u/test' });
    const nl = eol === 'crlf' ? '\r\n' : '\n';
    const input = Buffer.from(`From: a@example.com${nl}List-Id: <other.example.com>${nl}X-BeenThere: upstream@example.com${nl}Subject: x${nl}${nl}body${nl}`);
    const ctx = await f.context(input);
    await HANDLERS['list-headers']!(ctx);
    const m = ctx.message;
    expect(m.getAll('list-id')).toEqual(['Test <test.lists.example.org>']);
    expect(m.get('list-post')).toBe('<mailto:test@lists.example.org>');
    expect(m.get('list-help')).toBe('<mailto:test-request@lists.example.org?subject=help>');
    expect(m.get('list-subscribe')).toBe('<mailto:test-join@lists.example.org>');
    expect(m.get('list-unsubscribe')).toBe('<mailto:test-leave@lists.example.org>, <https://lists.example.org/u/test>');
    expect(m.get('list-unsubscribe-post')).toBe('List-Unsubscribe=One-Click');
    expect(m.get('list-archive')).toBe('<https://lists.example.org/archives/test/>');
    expect(m.getAll('x-beenthere')).toEqual(['upstream@example.com', 'test@lists.example.org']);
    expect(m.get('precedence')).toBe('list');
    expect(m.toBuffer().toString('latin1')).toContain(`Precedence: list${nl}${nl}body${nl}`);
  });

  it('list-headers without URLs: no List-Archive, no List-Unsubscribe-Post; List-Post off for announce lists', async () => {
    const f = await setup({ includeListPostHeader: false });
    const ctx = await f.context(await loadMessage('plain-ascii.eml', eol));
    await HANDLERS['list-headers']!(ctx);
    expect(ctx.message.has('list-archive')).toBe(false);
    expect(ctx.message.has('list-unsubscribe-post')).toBe(false);
    expect(ctx.message.has('list-post')).toBe(false);
  });

  it('reply-to: no_munging leaves it; point_to_list puts the list first and keeps the poster\'s; explicit_header uses replyToAddress', async () => {
    const nl = eol === 'crlf' ? '\r\n' : '\n';
    const input = Buffer.from(`From: Anne <anne@example.com>${nl}Reply-To: "Anne, at home" <anne@home.example>${nl}Subject: x${nl}${nl}b${nl}`);
    const f = await setup();
    const none = await f.context(input);
    await HANDLERS['reply-to']!(none);
    expect(none.message.toBuffer().equals(input)).toBe(true);

    await f.setSettings({ replyGoesToList: 'point_to_list' });
    const toList = await f.context(input);
    await HANDLERS['reply-to']!(toList);
    expect(toList.message.getAll('reply-to')).toEqual(['Test <test@lists.example.org>, "Anne, at home" <anne@home.example>']);

    await f.setSettings({ replyGoesToList: 'explicit_header', replyToAddress: 'Discussion <talk@example.org>' });
    const explicit = await f.context(input);
    await HANDLERS['reply-to']!(explicit);
    expect(explicit.message.get('reply-to')).toBe('Discussion <talk@example.org>, "Anne, at home" <anne@home.example>');

    // Stored by a switchyard that did not check it when set: the field is left alone, logged.
    f.storeUnchecked({ settings: { replyToAddress: 'not an address' } });
    const bad = await f.context(input);
    await HANDLERS['reply-to']!(bad);
    expect(bad.message.toBuffer().equals(input)).toBe(true);
    expect(f.lines.some((line) => line.msg.startsWith('reply-to: replyToAddress is not a usable address'))).toBe(true);
  });

  it('settings stored before the header checks cannot add fields: subjectPrefix, displayName, replyToAddress with line breaks, a URL with a NUL', async () => {
    const nl = eol === 'crlf' ? '\r\n' : '\n';
    const input = Buffer.from(`From: Anne <anne@example.com>${nl}To: test@lists.example.org${nl}Subject: hello${nl}${nl}b${nl}`);
    const f = await setup({ replyGoesToList: 'explicit_header' });
    f.storeUnchecked({
      displayName: 'Test\r\nX-Inj-Name: 1',
      settings: {
        subjectPrefix: '[X]\r\nBcc: victim@evil.example\r\nX-Inj: 1 ',
        replyToAddress: 'a@b.example\r\nBcc: v@evil.example',
        // The URL schema has always refused white space; a NUL it let through.
        listHelpUrl: 'https://x.example/\u0000x',
      },
    });
    const ctx = await f.context(input);
    for (const name of ['subject-prefix', 'list-headers', 'reply-to']) await HANDLERS[name]!(ctx);
    const out = ctx.message.toBuffer().toString('latin1');
    for (const line of out.split(/\r?\n/)) expect(line).not.toMatch(/^(bcc|x-inj[a-z-]*):/i);
    expect(ctx.message.get('subject')).toBe('[X] Bcc: victim@evil.example X-Inj: 1 hello');
    expect(ctx.message.get('list-id')).toBe('"Test X-Inj-Name: 1" <test.lists.example.org>');
    expect(ctx.message.get('list-help')).toBe('<mailto:test-request@lists.example.org?subject=help>');
    // Never "whatever address hides in it": the Reply-To is left as the poster had it (none).
    expect(ctx.message.has('reply-to')).toBe(false);
    expect(f.lines.some((line) => line.msg.startsWith('reply-to: replyToAddress is not a usable address'))).toBe(true);
  });

  it('dmarc munge_from (unconditional): From via the list, the original in Reply-To (or Cc when Reply-To points to the list); body untouched', async () => {
    const f = await setup({ dmarcMitigateAction: 'munge_from', dmarcMitigateUnconditionally: true });
    const input = await loadMessage('latin1-8bit.eml', eol);
    const ctx = await f.context(input);
    await HANDLERS.dmarc!(ctx);
    expect(ctx.message.decoded('from')).toBe('Jürgen Müller via Test <test@lists.example.org>');
    expect(ctx.message.decoded('reply-to')).toBe('Jürgen Müller <juergen@example.de>');
    expect(ctx.message.body.equals(RawMessage.parse(input).body)).toBe(true);
    // The raw 8-bit field nobody rewrote is still there byte for byte.
    expect(ctx.message.fields.find((x) => x.key === 'x-raw-8bit')!.raw.equals(RawMessage.parse(input).fields.find((x) => x.key === 'x-raw-8bit')!.raw)).toBe(true);

    await f.setSettings({ replyGoesToList: 'point_to_list' });
    const cc = await f.context(input);
    await HANDLERS.dmarc!(cc);
    expect(cc.message.decoded('cc')).toBe('Jürgen Müller <juergen@example.de>');
    expect(cc.message.has('reply-to')).toBe(false);
  });

  it('dmarc acts only when the chain found a policy (metadata dmarc: true) unless unconditional', async () => {
    const f = await setup({ dmarcMitigateAction: 'munge_from' });
    const input = await loadMessage('plain-ascii.eml', eol);
    const plain = await f.context(input);
    await HANDLERS.dmarc!(plain);
    expect(plain.message.toBuffer().equals(input)).toBe(true);
    const flagged = await f.context(input, { dmarc: true });
    await HANDLERS.dmarc!(flagged);
    expect(flagged.message.get('from')).toBe('Anne Person via Test <test@lists.example.org>');
    expect(flagged.metadata.dmarcMitigated).toBe('munge_from');
  });

  it('dmarc wrap_message: the post byte for byte as a message/rfc822 part of a message from the list', async () => {
    const f = await setup({ dmarcMitigateAction: 'wrap_message', dmarcMitigateUnconditionally: true });
    const input = await loadMessage('signed.eml', eol);
    const ctx = await f.context(input);
    await HANDLERS.dmarc!(ctx);
    const out = ctx.message.toBuffer();
    expect(ctx.message.get('from')).toBe('Dave via Test <test@lists.example.org>');
    expect(ctx.message.get('subject')).toBe('AW: Re: signed statement');
    expect(ctx.message.get('content-type')).toMatch(/^multipart\/mixed; boundary="/);
    const parts = leafParts(out);
    expect(parts).toHaveLength(1);
    const inner = RawMessage.parse(parts[0]!);
    expect(inner.get('content-type')).toBe('message/rfc822');
    expect(inner.body.equals(input)).toBe(true);
  });

  it('to-outgoing: the enabled members, the bounces address as sender, VERP per list', async () => {
    const f = await setup({}, ['m1@example.com', 'm2@example.net', 'off@example.com']);
    await f.store.updateMember('test@lists.example.org', 'off@example.com', 'member', { deliveryStatus: 'by_user' });
    await f.store.addMember('test@lists.example.org', { address: 'owner@example.com', role: 'owner' });
    const ctx = await f.context(await loadMessage('plain-ascii.eml', eol));
    await HANDLERS['to-outgoing']!(ctx);
    expect(ctx.outgoing?.metadata).toEqual({
      listId: 'test@lists.example.org',
      sender: 'test-bounces@lists.example.org',
      recipients: ['m1@example.com', 'm2@example.net'],
      listPosting: 'test@lists.example.org',
      receivedAt: '2025-03-04T10:15:02.000Z',
    });
    await f.setSettings({ verp: true });
    const verp = await f.context(await loadMessage('plain-ascii.eml', eol));
    await HANDLERS['to-outgoing']!(verp);
    expect(verp.outgoing?.metadata.verp).toBe(true);
  });

  it('to-outgoing: each post goes to the members as they are when it is sent, a change between two posts included', async () => {
    const f = await setup({}, ['m1@example.com', 'm2@example.net']);
    const recipientsOf = async (): Promise<unknown> => {
      const ctx = await f.context(await loadMessage('plain-ascii.eml', eol));
      await HANDLERS['to-outgoing']!(ctx);
      return ctx.outgoing?.metadata.recipients;
    };
    expect(await recipientsOf()).toEqual(['m1@example.com', 'm2@example.net']);
    expect(await recipientsOf()).toEqual(['m1@example.com', 'm2@example.net']);
    await f.store.addMember('test@lists.example.org', { address: 'm0@example.org' });
    expect(await recipientsOf()).toEqual(['m0@example.org', 'm1@example.com', 'm2@example.net']);
    await f.store.updateMember('test@lists.example.org', 'm1@example.com', 'member', { deliveryStatus: 'by_user' });
    expect(await recipientsOf()).toEqual(['m0@example.org', 'm2@example.net']);
  });

  it('to-outgoing with no enabled member: no out entry, logged', async () => {
    const f = await setup();
    const ctx = await f.context(await loadMessage('plain-ascii.eml', eol));
    await HANDLERS['to-outgoing']!(ctx);
    expect(ctx.outgoing).toBeUndefined();
    expect(f.lines.some((line) => line.msg.startsWith('to-outgoing: no member with regular delivery enabled'))).toBe(true);
  });

  it('to-archive enqueues a durable copy on `archive` when the list archives, none when it does not', async () => {
    const f = await setup();
    const input = await loadMessage('plain-ascii.eml', eol);
    const ctx = await f.context(input);
    await HANDLERS['to-archive']!(ctx);
    const queued = await f.queued('archive');
    expect(queued).toHaveLength(1);
    expect(queued[0]!.message.equals(input)).toBe(true);
    expect(queued[0]!.metadata).toEqual({ listId: 'test@lists.example.org', envelopeSender: 'anne@example.com', receivedAt: '2025-03-04T10:15:02.000Z' });
    await f.setSettings({ archive: false });
    await HANDLERS['to-archive']!(await f.context(input));
    expect(await f.queued('archive')).toHaveLength(1);
  });
});

describe('runPipeline', () => {
  it('runs the default pipeline: archive copy before DMARC and footer, out entry after', async () => {
    const f = await setup({ footerText: '-- \nTest mailing list: {list}', dmarcMitigateUnconditionally: true }, ['m1@example.com']);
    const input = await loadMessage('alternative.eml', 'crlf');
    const ctx = await f.context(input);
    expect(f.list.settings.postingPipeline).toEqual(defaultSettings().postingPipeline);
    await runPipeline(ctx, f.list.settings.postingPipeline);
    const archived = (await f.queued('archive'))[0]!.message;
    expect(field(archived, 'from')).toBe('Carol <carol@example.com>');
    expect(archived.toString('latin1')).not.toContain('Test mailing list');
    const out = ctx.message.toBuffer();
    expect(field(out, 'from')).toBe('Carol via Test <test@lists.example.org>');
    expect(field(out, 'subject')).toBe('Re: [Test] agenda');
    expect(field(out, 'list-id')).toBe('Test <test.lists.example.org>');
    expect(out.toString('latin1')).toContain('Test mailing list: test@lists.example.org');
    // The alternative's parts are unchanged inside the wrapper.
    for (const part of leafParts(input)) expect(leafParts(out).some((p) => p.equals(part))).toBe(true);
    expect(ctx.outgoing?.metadata.recipients).toEqual(['m1@example.com']);
  });

  it('refuses an unknown handler name before running any (typed error)', async () => {
    const f = await setup();
    const input = await loadMessage('plain-ascii.eml');
    const ctx = await f.context(input);
    await expect(runPipeline(ctx, ['cleanse', 'no-such-handler'])).rejects.toBeInstanceOf(UnknownHandlerError);
    expect(ctx.message.toBuffer().equals(input)).toBe(true);
    await expect(runPipeline(ctx, ['toString'])).rejects.toMatchObject({ code: 'SY_PIPELINE_UNKNOWN_HANDLER', handler: 'toString' });
  });
});
