/**
 * The LMTP runner SIGKILLed while four connections deliver at full speed,
 * so that entries are being created, fdatasynced, renamed and their
 * directories fsynced (group-committed, queues/directory-sync.ts) for
 * several transactions at the moment of the kill: every message answered
 * 250 is an entry, byte-exact, exactly once; every entry is a whole message
 * (an unanswered one may be there too: the MTA's duplicate window); what is
 * left besides is temp files, which the stale-temp cleanup removes; and the
 * runner started again accepts mail.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeEntry, Switchboard } from '../../queues/index.js';
import { ingressToml, lmtpRunnerPerSuite, startLmtpRunner, waitForQueue } from './harness.js';
import { LmtpClient } from './lmtp-client.js';

const LIST = 'dev@lists.example.org';
const CONNECTIONS = 4;
/** Acknowledged messages to wait for before the kill: the writes are in full swing by then. */
const ACKED_BEFORE_KILL = 40;

function messageFor(tag: string): string {
  return `Subject: crash ${tag}\r\nX-Tag: ${tag}\r\n\r\n${`${tag} `.repeat(400)}\r\n`;
}

const lmtp = lmtpRunnerPerSuite((port) => ingressToml(port, '[queues]\ndurability = "fsync"\n'), [LIST]);

describe('the LMTP runner killed during concurrent commits', () => {
  it('loses no acknowledged message, leaves no partial entry, and takes mail again after a restart', async () => {
    const acked = new Set<string>();
    const sent = new Set<string>();
    let reachedKillPoint: () => void = () => undefined;
    const killPoint = new Promise<void>((resolve) => (reachedKillPoint = resolve));

    /** One connection delivering until the runner dies; resolves then. */
    const deliver = async (connection: number): Promise<void> => {
      const client = await LmtpClient.open(lmtp.port);
      client.send('LHLO crash.example\r\n');
      await client.replies(1);
      try {
        for (let n = 0; ; n++) {
          const tag = `c${connection}-m${n}`;
          client.send(`MAIL FROM:<anne@example.net>\r\nRCPT TO:<${LIST}>\r\nDATA\r\n`);
          const [mail, rcpt, data] = await client.replies(3);
          expect([mail, rcpt, data].map((reply) => reply!.slice(0, 3))).toEqual(['250', '250', '354']);
          sent.add(tag);
          client.send(`${messageFor(tag)}.\r\n`);
          const [done] = await client.replies(1);
          expect(done).toMatch(/^250 /);
          acked.add(tag);
          if (acked.size >= ACKED_BEFORE_KILL) reachedKillPoint();
        }
      } catch (error) {
        // The kill closes the connection: that is how every loop ends; anything else is a failure.
        if (!(error instanceof Error && error.message.startsWith('connection closed'))) throw error;
      }
    };

    const loops = Array.from({ length: CONNECTIONS }, (_, connection) => deliver(connection));
    await killPoint;
    lmtp.runner.child.kill('SIGKILL');
    expect((await lmtp.runner.exited).signal).toBe('SIGKILL');
    await Promise.all(loops);

    const queueRoot = join(lmtp.home, 'queues');
    const files = (await readdir(join(queueRoot, 'in'), { recursive: true, withFileTypes: true })).filter((entry) => entry.isFile());
    const entries = files.filter((entry) => entry.name.endsWith('.pck'));
    const temps = files.filter((entry) => entry.name.endsWith('.tmp'));
    expect(files.length).toBe(entries.length + temps.length);
    const found = new Map<string, number>();
    for (const entry of entries) {
      // A partial entry would fail to decode or carry a cut message.
      const decoded = decodeEntry(await readFile(join(entry.parentPath, entry.name)));
      const tag = /^X-Tag: (\S+)$/m.exec(decoded.message.toString())?.[1];
      expect(tag).toBeDefined();
      expect(decoded.message.toString()).toBe(messageFor(tag!));
      expect(decoded.metadata).toMatchObject({ listId: LIST, envelopeRecipient: LIST, receivedVia: 'lmtp' });
      found.set(tag!, (found.get(tag!) ?? 0) + 1);
    }
    for (const tag of acked) expect(found.get(tag), `acknowledged ${tag}`).toBe(1);
    for (const [tag, count] of found) {
      expect(sent.has(tag), `entry ${tag} was sent`).toBe(true);
      expect(count).toBe(1);
    }
    // At most the transactions in flight at the kill were written without their 250.
    expect(found.size - acked.size).toBeLessThanOrEqual(CONNECTIONS);

    expect(await new Switchboard({ root: queueRoot, name: 'in' }).removeStaleTemps(0, Date.now() + 1000)).toBe(temps.length);
    lmtp.runner = await startLmtpRunner(lmtp.home);
    const after = await LmtpClient.open(lmtp.port);
    after.send(`LHLO t\r\nMAIL FROM:<anne@example.net>\r\nRCPT TO:<${LIST}>\r\nDATA\r\n${messageFor('after')}.\r\n`);
    expect((await after.replies(5))[4]).toMatch(/^250 /);
    expect(await waitForQueue(lmtp.home, 'in', found.size + 1)).toHaveLength(found.size + 1);
    after.socket.destroy();
  });
});
