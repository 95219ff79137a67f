/**
 * The member preferences in delivery: to-outgoing over a real store and
 * spool. Each rule has its own case with a control member who is not
 * affected, so each fails if the rule (in Store.deliveryAddresses' SQL) is
 * dropped: digest and disabled members get no regular copy,
 * receiveOwnPostings=false leaves the poster out (the poster as the chain
 * saw it, even after DMARC munging rewrote From), receiveListCopy=false
 * leaves out members named in To/Cc only, acknowledgePosts sends the poster
 * an acknowledgement through virgin.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { HANDLERS } from '../../runners/incoming/pipeline.js';
import { RawMessage } from '../../src/mail/raw-message.js';
import { makeFixture, type Fixture } from './support.js';

const LIST = 'test@lists.example.org';
let f: Fixture | undefined;
afterEach(async () => {
  await f?.close();
  f = undefined;
});

function post(from: string, to: string, cc = ''): Buffer {
  return Buffer.from(`From: ${from}\r\nTo: ${to}\r\n${cc ? `Cc: ${cc}\r\n` : ''}Subject: hello\r\nMessage-ID: <p1@example.com>\r\n\r\nbody\r\n`);
}

async function recipients(fixture: Fixture, message: Buffer, extra: { sender?: string | null } = {}): Promise<string[]> {
  const ctx = { ...(await fixture.context(message)), ...extra };
  await HANDLERS['to-outgoing']!(ctx);
  return (ctx.outgoing?.metadata.recipients as string[] | undefined) ?? [];
}

describe('delivery honours member preferences (to-outgoing)', () => {
  it('digest members, in every digest mode, get no regular copy', async () => {
    f = await makeFixture({}, ['a@example.com', 'b@example.com', 'c@example.com', 'reg@example.com']);
    await f.store.updateMember(LIST, 'a@example.com', 'member', { deliveryMode: 'mime_digests' });
    await f.store.updateMember(LIST, 'b@example.com', 'member', { deliveryMode: 'plain_digests' });
    await f.store.updateMember(LIST, 'c@example.com', 'member', { deliveryMode: 'summary_digests' });
    expect(await recipients(f, post('x@example.net', LIST))).toEqual(['reg@example.com']);
  });

  it('members disabled by themselves, by bounces or by the owner get nothing', async () => {
    f = await makeFixture({}, ['u@example.com', 'b@example.com', 'o@example.com', 'reg@example.com']);
    await f.store.updateMember(LIST, 'u@example.com', 'member', { deliveryStatus: 'by_user' });
    await f.store.updateMember(LIST, 'b@example.com', 'member', { deliveryStatus: 'by_bounces' });
    await f.store.updateMember(LIST, 'o@example.com', 'member', { deliveryStatus: 'by_owner' });
    expect(await recipients(f, post('x@example.net', LIST))).toEqual(['reg@example.com']);
  });

  it('receiveOwnPostings=false leaves the poster out of their own post, whatever the case of the address', async () => {
    f = await makeFixture({}, ['anne@example.com', 'bob@example.com']);
    await f.store.updateMember(LIST, 'anne@example.com', 'member', { receiveOwnPostings: false });
    await f.store.updateMember(LIST, 'bob@example.com', 'member', { receiveOwnPostings: false });
    // Anne posts: she is left out; Bob (same preference, not the poster) gets it.
    expect(await recipients(f, post('Anne <ANNE@example.com>', LIST))).toEqual(['bob@example.com']);
    // Anne with the default: she gets her own post.
    await f.store.updateMember(LIST, 'anne@example.com', 'member', { receiveOwnPostings: true });
    expect(await recipients(f, post('anne@example.com', LIST))).toEqual(['anne@example.com', 'bob@example.com']);
  });

  it('receiveOwnPostings uses the poster the chain saw, not a From rewritten by DMARC munging', async () => {
    f = await makeFixture({}, ['anne@example.com', 'bob@example.com']);
    await f.store.updateMember(LIST, 'anne@example.com', 'member', { receiveOwnPostings: false });
    const munged = post(`'Anne' via Test <${LIST}>`, LIST);
    expect(await recipients(f, munged, { sender: 'anne@example.com' })).toEqual(['bob@example.com']);
  });

  it('receiveListCopy=false leaves out members named in To or Cc, and only them', async () => {
    f = await makeFixture({}, ['to@example.com', 'cc@example.com', 'other@example.com', 'named@example.com']);
    for (const address of ['to@example.com', 'cc@example.com', 'other@example.com']) await f.store.updateMember(LIST, address, 'member', { receiveListCopy: false });
    // named@ is in To but keeps the default: gets the list copy. other@ has the preference but is not named: gets it.
    const got = await recipients(f, post('x@example.net', `${LIST}, To@Example.com, named@example.com`, 'Carol <cc@example.com>'));
    expect(got).toEqual(['named@example.com', 'other@example.com']);
  });

  it('acknowledgePosts: the poster gets an acknowledgement on virgin; others and robots do not', async () => {
    f = await makeFixture({}, ['anne@example.com', 'bob@example.com']);
    await f.store.updateMember(LIST, 'anne@example.com', 'member', { acknowledgePosts: true });
    await recipients(f, post('bob@example.com', LIST));
    expect(await f.queued('virgin')).toEqual([]);
    await recipients(f, post('anne@example.com', LIST));
    const [ack] = await f.queued('virgin');
    expect(ack!.metadata).toMatchObject({ recipients: ['anne@example.com'], notice: 'post-acknowledgement' });
    const notice = RawMessage.parse(ack!.message);
    expect(notice.get('To')).toBe('anne@example.com');
    expect(notice.get('In-Reply-To')).toBe('<p1@example.com>');
    expect(notice.body.toString()).toContain('was accepted and sent to the list');
    // Automatic mail from the member is not acknowledged (no loops).
    await recipients(f, Buffer.from(`From: anne@example.com\r\nTo: ${LIST}\r\nAuto-Submitted: auto-replied\r\nSubject: x\r\n\r\nbody\r\n`));
    expect(await f.queued('virgin')).toHaveLength(1);
  });
});
