/**
 * The LMTP runner under abuse (issue 11, section 5), the real runner process
 * spoken to over raw sockets on loopback, other clients told apart by their
 * source address (127.0.0.2, 127.0.0.3: Linux answers for all of 127/8):
 * connection slots per address and a reserve for the MTA, the idle timeout
 * before MAIL, one reply per RCPT even for a repeated address, memory that
 * stays flat while 40 clients are each in the middle of a 24 MB DATA, and a
 * SIGKILL in the middle of DATA leaving nothing but a temp file.
 */
import { readdir, readFile, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Switchboard } from '../../queues/index.js';
import { lmtpRunnerPerSuite, queueIds, startLmtpRunner, waitForQueue } from './harness.js';
import { LmtpClient } from './lmtp-client.js';

const LIST = 'dev@lists.example.org';
const BOUNCES = 'dev-bounces+bob=example.com@lists.example.org';

function toml(port: number, lmtp: string, extra = ''): string {
  return `[logging]\ndestination = "stdout"\nlevel = "info"\n\n[lmtp]\nport = ${port}\n${lmtp}\n\n${extra}\n`;
}

/** A field of /proc/<pid>/status in bytes (VmRSS, VmHWM). */
async function procStatusBytes(pid: number, field: string): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status);
  if (!match) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}

/** Every `*.tmp` below `dir`. */
async function tempFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((entry) => entry.isFile() && entry.name.endsWith('.tmp')).map((entry) => join(entry.parentPath, entry.name));
}

/**
 * The three light describes, each with its own runner on its own port, run at once: the idle timeout's
 * 3 s of waiting and the runners' start-ups overlap instead of following each other. The memory test,
 * which loads the machine, runs alone after them.
 */
describe.concurrent('LMTP slots, replies and idle timeout', () => {
  describe('LMTP connection slots', () => {
    // 6 slots, 2 of them only for the MTA (127.0.0.1); at most 3 per other address.
    const lmtp = lmtpRunnerPerSuite(
      (port) => toml(port, 'maxClients = 6\nreservedClients = 2\nmaxClientsPerAddress = 3\nmtaAddresses = ["127.0.0.1"]\nidleTimeout = "5m"', '[ingress]\nmaxMessageSize = 4096\n'),
      [LIST],
    );
    const open: LmtpClient[] = [];

    // Registered after the runner's: runs before it stops.
    afterAll(() => {
      for (const client of open) client.socket.destroy();
    });

    it('refuses a client address over maxClientsPerAddress, keeps reservedClients for the MTA, and the MTA still delivers', async () => {
      for (let i = 0; i < 3; i++) open.push(await LmtpClient.open(lmtp.port, { localAddress: '127.0.0.2' }));
      const fourth = await LmtpClient.connect(lmtp.port, { localAddress: '127.0.0.2' });
      expect((await fourth.replies(1))[0]).toMatch(/^421 .*127\.0\.0\.2/);
      await fourth.closedEvent;

      // 4 of the 6 slots are for everyone: the 4th other client gets in, the 5th does not.
      open.push(await LmtpClient.open(lmtp.port, { localAddress: '127.0.0.3' }));
      const fifth = await LmtpClient.connect(lmtp.port, { localAddress: '127.0.0.3' });
      expect((await fifth.replies(1))[0]).toMatch(/^421 /);
      await fifth.closedEvent;

      // The reserve: the MTA's address gets the last two slots and delivers.
      const mta = await LmtpClient.open(lmtp.port, { localAddress: '127.0.0.1' });
      open.push(mta, await LmtpClient.open(lmtp.port, { localAddress: '127.0.0.1' }));
      mta.send(`LHLO mta\r\nMAIL FROM:<anne@example.net>\r\nRCPT TO:<${LIST}>\r\nDATA\r\n`);
      await mta.replies(4);
      mta.send('Subject: through the reserve\r\n\r\nhi\r\n.\r\n');
      expect((await mta.replies(1))[0]).toMatch(/^250 .*queued as in\//);

      // Every slot taken: even the MTA waits now.
      const seventh = await LmtpClient.connect(lmtp.port, { localAddress: '127.0.0.1' });
      expect((await seventh.replies(1))[0]).toMatch(/^421 /);
      await seventh.closedEvent;

      // A slot freed is a slot for the address again.
      const leaving = open.shift()!;
      leaving.send('QUIT\r\n');
      await leaving.closedEvent;
      open.push(await LmtpClient.open(lmtp.port, { localAddress: '127.0.0.2' }));
    });
  });

  describe('LMTP replies per RCPT', () => {
    const lmtp = lmtpRunnerPerSuite((port) => toml(port, '', '[ingress]\nmaxMessageSize = 4096\n'), [LIST]);

    it('answers each RCPT of a repeated address after DATA (one entry for it), so the MTA counts as many replies as it sent RCPTs', async () => {
      const before = (await queueIds(lmtp.home, 'in')).length;
      let client = await LmtpClient.open(lmtp.port);
      client.send(`LHLO t\r\nMAIL FROM:<anne@example.net>\r\nRCPT TO:<${LIST}>\r\nRCPT TO:<${LIST.toUpperCase()}>\r\nRCPT TO:<${BOUNCES}>\r\nDATA\r\n`);
      const accepted = await client.replies(6);
      expect(accepted.slice(1)).toEqual([expect.stringMatching(/^250/), expect.stringMatching(/^250/), expect.stringMatching(/^250/), expect.stringMatching(/^250/), expect.stringMatching(/^354/)]);
      // A NOOP right behind the message: its reply must come fourth, after exactly three DATA replies
      // (a server that answers too few shows the NOOP's reply and QUIT's 221 in their place).
      client.send('Subject: twice\r\n\r\nhi\r\n.\r\nNOOP\r\n');
      client.send('QUIT\r\n');
      const [first, second, third, noop] = await client.replies(4);
      expect(first).toMatch(/^250 .*queued as in\//);
      expect(second).toBe(first);
      expect(third).toMatch(/^250 .*queued as bounces\//);
      expect(noop).toMatch(/^250 .*OK/);
      expect((await queueIds(lmtp.home, 'in')).length).toBe(before + 1);

      expect((await client.replies(1))[0]).toMatch(/^221/);

      // The same count when the message is refused as a whole (oversize).
      client = await LmtpClient.open(lmtp.port);
      client.send(`LHLO t\r\nMAIL FROM:<anne@example.net>\r\nRCPT TO:<${LIST}>\r\nRCPT TO:<${LIST}>\r\nDATA\r\n`);
      await client.replies(5);
      client.send(`Subject: big\r\n\r\n${'x'.repeat(8000)}\r\n.\r\nNOOP\r\nQUIT\r\n`);
      const refused = await client.replies(3);
      expect(refused).toEqual([expect.stringMatching(/^552 5\.3\.4 /), expect.stringMatching(/^552 5\.3\.4 /), expect.stringMatching(/^250 .*OK/)]);
      expect((await queueIds(lmtp.home, 'in')).length).toBe(before + 1);
    });
  });

  describe('LMTP idle timeout', () => {
    const lmtp = lmtpRunnerPerSuite((port) => toml(port, 'idleTimeout = "3s"\nsocketTimeout = "5m"'), [LIST]);

    it('closes a connection that opens no transaction within idleTimeout with 421, and leaves one in a transaction alone', async () => {
      const busy = await LmtpClient.open(lmtp.port);
      busy.send('LHLO t\r\nMAIL FROM:<anne@example.net>\r\n');
      await busy.replies(2);
      const idle = await LmtpClient.open(lmtp.port);
      idle.send('LHLO idle\r\n');
      await idle.replies(1);
      // Armed later than busy's, so busy's timer has fired by the time idle is closed.
      expect((await idle.replies(1))[0]).toMatch(/^421 .*idle/);
      await idle.closedEvent;
      busy.send(`RCPT TO:<${LIST}>\r\nDATA\r\n`);
      await busy.replies(2);
      busy.send('Subject: slow sender\r\n\r\nhi\r\n.\r\n');
      expect((await busy.replies(1))[0]).toMatch(/^250 .*queued as in\//);
      busy.send('QUIT\r\n');
      expect((await busy.replies(1))[0]).toMatch(/^221/);
    });
  });
});

describe('LMTP memory and DATA streaming', () => {
  const lmtp = lmtpRunnerPerSuite((port) => toml(port, ''), [LIST]);

  it('holds a bounded amount (under 160 MiB over idle RSS, a sixth of the 960 MB in flight) while 40 clients are each in the middle of a 24 MB DATA, and accepts all 40', async () => {
    const CLIENTS = 40;
    const LINE = `${'x'.repeat(998)}\r\n`;
    const MEBIBYTE = Buffer.from(LINE.repeat(1024 * 1024 / LINE.length + 1).slice(0, 1024 * 1024 - 2) + '\r\n');
    const head = Buffer.from('Subject: big\r\nFrom: anne@example.net\r\n\r\n');
    const pid = lmtp.runner.child.pid!;
    const idle = await procStatusBytes(pid, 'VmRSS');
    const clients = await Promise.all(Array.from({ length: CLIENTS }, () => LmtpClient.open(lmtp.port)));
    await Promise.all(clients.map(async (client) => {
      client.send(`LHLO t\r\nMAIL FROM:<anne@example.net>\r\nRCPT TO:<${LIST}>\r\nDATA\r\n`);
      const replies = await client.replies(4);
      expect(replies[3]).toMatch(/^354/);
    }));
    // 23 MiB each, every write taken by the kernel: the runner has read all but what the socket buffers hold.
    await Promise.all(clients.map(async (client) => {
      await client.write(head);
      for (let i = 0; i < 23; i++) await client.write(MEBIBYTE);
    }));
    const middle = await procStatusBytes(pid, 'VmRSS');
    await Promise.all(clients.map(async (client) => {
      await client.write(MEBIBYTE.subarray(0, 512 * 1024));
      client.send('\r\n.\r\n');
      expect((await client.replies(1))[0]).toMatch(/^250 .*queued as in\//);
      client.send('QUIT\r\n');
    }));
    const peak = await procStatusBytes(pid, 'VmHWM');
    console.log(`LMTP runner memory, 40 clients x 24 MB DATA: VmRSS idle ${(idle / 2 ** 20).toFixed(1)} MiB, mid-DATA ${(middle / 2 ** 20).toFixed(1)} MiB, VmHWM ${(peak / 2 ** 20).toFixed(1)} MiB`);
    // What is asserted is that DATA streams to disk: 40 x 24 MB = 960 MB in flight, of which the runner
    // holds socket and write buffers only. Measured: peak 63 MiB over idle at load 10; at load 15-20
    // (garbage collected later, buffers fuller) up to 97 MiB. Holding a sixth of the DATA would exceed 160 MiB.
    expect(middle - idle).toBeLessThan(160 * 2 ** 20);
    expect(peak - idle).toBeLessThan(160 * 2 ** 20);
    const ids = await queueIds(lmtp.home, 'in');
    expect(ids).toHaveLength(CLIENTS);
    const switchboard = new Switchboard({ root: join(lmtp.home, 'queues'), name: 'in' });
    const expectedBytes = head.length + 23.5 * MEBIBYTE.length;
    for (const id of ids) expect((await stat(switchboard.path(id, 'pck'))).size).toBeGreaterThan(expectedBytes);
    expect(await tempFiles(join(lmtp.home, 'queues'))).toEqual([]);
    // A gigabyte the next tests need not read back (the shard directories stay: the runner knows them).
    for (const id of ids) await unlink(switchboard.path(id, 'pck'));
  }, 600_000);

  it('a large message for a post and a bounce is written once and copied: two entries on their queues, each byte-exact', async () => {
    const client = await LmtpClient.open(lmtp.port);
    client.send(`LHLO t\r\nMAIL FROM:<anne@example.net>\r\nRCPT TO:<${LIST}>\r\nRCPT TO:<${BOUNCES}>\r\nDATA\r\n`);
    await client.replies(5);
    const body = `${'z'.repeat(998)}\r\n`.repeat(3000);
    const message = `Subject: large, twice\r\n\r\n${body}`;
    await client.write(`${message}.\r\n`);
    const [post, bounce] = await client.replies(2);
    expect(post).toMatch(/^250 .*queued as in\//);
    expect(bounce).toMatch(/^250 .*queued as bounces\//);
    const inEntries = await waitForQueue(lmtp.home, 'in', 1);
    const written = inEntries.find((entry) => entry.message.length === message.length);
    expect(written?.message.toString()).toBe(message);
    expect(written?.metadata).toMatchObject({ envelopeRecipient: LIST });
    const [copy] = await waitForQueue(lmtp.home, 'bounces', 1);
    expect(copy!.message.toString()).toBe(message);
    expect(copy!.metadata).toMatchObject({ envelopeRecipient: BOUNCES, receivedVia: 'lmtp' });
    client.socket.destroy();
  });

  it('killed in the middle of DATA, the runner leaves only a temp file (no entry), which the stale-temp cleanup removes', async () => {
    const before = (await queueIds(lmtp.home, 'in')).length;
    const client = await LmtpClient.open(lmtp.port);
    client.send(`LHLO t\r\nMAIL FROM:<anne@example.net>\r\nRCPT TO:<${LIST}>\r\nDATA\r\n`);
    await client.replies(4);
    await client.write(`Subject: cut short\r\n\r\n${'y'.repeat(200_000)}\r\n`);
    // Awaited on the file itself: the message is being written where its entry will be.
    const queueRoot = join(lmtp.home, 'queues');
    const watcher = await new Switchboard({ root: queueRoot, name: 'in', rescanIntervalMs: 200 }).watch();
    try {
      while ((await tempFiles(join(queueRoot, 'in'))).length === 0) await watcher.wait();
    } finally {
      watcher.close();
    }
    lmtp.runner.child.kill('SIGKILL');
    await lmtp.runner.exited;
    await client.closedEvent;
    expect(await queueIds(lmtp.home, 'in')).toHaveLength(before);
    expect(await tempFiles(queueRoot)).toHaveLength(1);
    expect(await new Switchboard({ root: queueRoot, name: 'in' }).removeStaleTemps(0, Date.now() + 1000)).toBe(1);
    expect(await tempFiles(queueRoot)).toEqual([]);
    lmtp.runner = await startLmtpRunner(lmtp.home);
    const after = await LmtpClient.open(lmtp.port);
    after.send(`LHLO t\r\nMAIL FROM:<anne@example.net>\r\nRCPT TO:<${LIST}>\r\nDATA\r\nSubject: again\r\n\r\nhi\r\n.\r\n`);
    expect((await after.replies(5))[4]).toMatch(/^250 /);
    expect(await waitForQueue(lmtp.home, 'in', before + 1)).toHaveLength(before + 1);
  });
});
