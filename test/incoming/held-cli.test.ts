/**
 * The moderators' round trip through the real `switchyard held` binary
 * against a home where a real incoming runner works: a post is held, listed,
 * shown, then approved (sent through the pipeline to `out`), rejected (a
 * notice to its sender) or discarded, and each decision is recorded.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { RawMessage } from '../../src/mail/raw-message.js';
import { runCli, runHomeCliInProcess } from '../support/cli.js';
import { LIST, plainPost } from './fixtures/messages.js';
import { cleanup, closeIncomingFile, closeStores, setupIncoming, type IncomingSetup } from './harness.js';

afterAll(closeIncomingFile);

afterEach(async () => {
  await cleanup();
  await closeStores();
});

/**
 * `switchyard --home HOME held ARGS` in this process (program.ts run(), what the binary runs: the same
 * exit code, stdout and stderr) without a node start-up (~0.35 s of CPU) each; the built binary itself
 * runs (heldReal) for one of each kind of outcome: --json and text output, --raw bytes, exit 1, exit 2.
 */
function held(setup: IncomingSetup, ...args: string[]) {
  return runHomeCliInProcess(setup.home, ['held', ...args]);
}

/** `switchyard --home HOME held ARGS`, the built binary in a process of its own. */
function heldReal(setup: IncomingSetup, ...args: string[]) {
  return runCli(['--home', setup.home, 'held', ...args]);
}

async function holdOne(setup: IncomingSetup, subject = 'Guest question'): Promise<{ id: number; message: Buffer }> {
  const message = plainPost({ from: 'Guest <guest@example.com>', subject });
  await setup.post(message, { envelopeSender: 'guest@example.com' });
  const all = await setup.store.heldMessages(LIST);
  return { id: all[all.length - 1]!.id, message };
}

describe('switchyard held', () => {
  it('lists and shows held posts, as tables and as JSON, and the exact bytes with --raw', async () => {
    const setup = await setupIncoming();
    const { id, message } = await holdOne(setup);

    const listed = await heldReal(setup, 'list', LIST, '--json');
    expect(listed.code).toBe(0);
    const json = JSON.parse(listed.stdout) as { list: string; held: Array<Record<string, unknown>> };
    expect(json.held).toEqual([expect.objectContaining({ id, sender: 'guest@example.com', subject: 'Guest question', reason: 'post from a non-member', size: message.length })]);

    const table = await held(setup, 'list', LIST);
    expect(table.stdout).toMatch(new RegExp(`^\\s*${id}\\s.*guest@example.com.*Guest question.*post from a non-member`, 'm'));

    const shown = JSON.parse((await held(setup, 'show', LIST, String(id), '--json')).stdout) as Record<string, unknown>;
    expect(shown).toMatchObject({ id, reason: 'post from a non-member', metadata: { chain: { rule: 'moderation', action: 'hold' }, envelopeSender: 'guest@example.com' } });
    expect(shown.headers).toEqual(expect.arrayContaining([{ name: 'Subject', value: 'Guest question' }]));
    expect(Buffer.from(shown.message as string, 'base64').equals(message)).toBe(true);

    const text = await held(setup, 'show', LIST, String(id));
    expect(text.stdout).toContain('reason:    post from a non-member');
    expect(text.stdout).toContain('Grüße, Anne');

    const raw = await runCli(['--home', setup.home, 'held', 'show', LIST, String(id), '--raw']);
    expect(Buffer.from(raw.stdout, 'utf8').equals(message)).toBe(true);
  });

  it('approve sends the post on through the pipeline to out, removes the hold and records the decision', async () => {
    const setup = await setupIncoming();
    const { id, message } = await holdOne(setup);
    const ended = setup.watch.ends.length;

    const approved = await heldReal(setup, 'approve', LIST, String(id), '--by', 'alice', '--json');
    expect(approved.code).toBe(0);
    expect(JSON.parse(approved.stdout)).toMatchObject({ id, decision: 'approve', decidedBy: 'alice', entry: expect.any(String) });
    await setup.watch.endsAtLeast(ended + 1);

    const [out] = await setup.entries('out');
    expect(out!.metadata.chain).toMatchObject({ rule: 'moderator-approval', action: 'accept', reason: `approved by alice (held #${id})` });
    expect(RawMessage.parse(out!.message).body.equals(RawMessage.parse(message).body)).toBe(true);
    expect(await setup.store.countHeld(LIST)).toBe(0);
    expect(await setup.store.heldDecision(id)).toMatchObject({ decision: 'approve', decidedBy: 'alice', sender: 'guest@example.com' });
    expect((await held(setup, 'list', LIST)).stdout).toBe(`no posts held on ${LIST}\n`);
  });

  it('an approval repeated after a crash between enqueue and removal is posted once', async () => {
    const setup = await setupIncoming();
    const { id, message } = await holdOne(setup);
    const heldMessage = await setup.store.getHeld(id);
    // What a `held approve` killed after its enqueue left behind: the post on `in`, the hold still there.
    const ended = setup.watch.ends.length;
    await setup.enqueue(heldMessage.raw!, { ...heldMessage.metadata, approval: { heldId: id, token: randomBytes(16).toString('hex'), by: 'alice', at: new Date().toISOString() } });
    await setup.watch.endsAtLeast(ended + 1);
    expect(await setup.store.countHeld(LIST)).toBe(1);

    // The moderator, seeing it still held, approves it again.
    expect((await held(setup, 'approve', LIST, String(id))).code).toBe(0);
    await setup.watch.endsAtLeast(ended + 2);

    const out = await setup.entries('out');
    expect(out).toHaveLength(1);
    expect(RawMessage.parse(out[0]!.message).body.equals(RawMessage.parse(message).body)).toBe(true);
    expect(await setup.store.countHeld(LIST)).toBe(0);
    const [line] = await setup.logLines('post discarded by rule moderator-approval');
    expect(String(line!.reason)).toMatch(/already approved/);
  });

  it('reject sends the sender a notice with the reason and records the decision', async () => {
    const setup = await setupIncoming();
    const { id } = await holdOne(setup, 'Buy now');
    const noticesBefore = (await setup.entries('virgin')).length;
    const rejected = await heldReal(setup, 'reject', LIST, String(id), '--reason', 'off topic here', '--by', 'bob');
    expect(rejected.code).toBe(0);
    expect(rejected.stdout).toMatch(new RegExp(`held #${id} on ${LIST} rejected \\(notice to guest@example.com queued as `));
    const notices = await setup.entries('virgin');
    expect(notices).toHaveLength(noticesBefore + 1);
    const notice = notices.find((entry) => entry.metadata.notice === 'rejected')!;
    expect(notice.metadata.recipients).toEqual(['guest@example.com']);
    expect(notice.message.toString('utf8')).toContain('off topic here');
    expect(notice.message.toString('utf8')).toContain('Buy now');
    expect(await setup.store.heldDecision(id)).toMatchObject({ decision: 'reject', decidedBy: 'bob', reason: 'off topic here' });
    expect(await setup.entries('out')).toHaveLength(0);
  });

  it('discard removes the hold quietly and records the decision', async () => {
    const setup = await setupIncoming();
    const { id } = await holdOne(setup);
    const noticesBefore = (await setup.entries('virgin')).length;
    const discarded = await held(setup, 'discard', LIST, String(id), '--json');
    expect(JSON.parse(discarded.stdout)).toMatchObject({ id, decision: 'discard' });
    expect(await setup.entries('virgin')).toHaveLength(noticesBefore);
    expect(await setup.entries('out')).toHaveLength(0);
    expect(await setup.store.countHeld(LIST)).toBe(0);
    expect((await setup.store.heldDecision(id))!.decision).toBe('discard');
  });

  it('fails with exit 1 for an unknown id or list, exit 2 for a malformed id', async () => {
    const setup = await setupIncoming();
    const { id } = await holdOne(setup);
    await setup.store.createList({ address: 'other@lists.example.org' });
    const unknown = await heldReal(setup, 'approve', LIST, '999');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('no held message 999');
    expect((await held(setup, 'discard', 'other@lists.example.org', String(id))).code).toBe(1);
    expect((await held(setup, 'list', 'nosuch@lists.example.org')).code).toBe(1);
    expect((await heldReal(setup, 'show', LIST, 'abc')).code).toBe(2);
    expect(await setup.store.countHeld(LIST)).toBe(1);
  });
});
