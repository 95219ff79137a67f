/**
 * The floor of the LMTP benchmark (lmtp.bench.ts): a bare smtp-server in LMTP
 * mode in its own process (as the LMTP runner is), making each message
 * durable with the bare system calls before its 250, and nothing else: no
 * store, no routing, no entry ids, no logging. Per message: the bytes
 * collected from the DATA stream; a temp file in one of 256 directories
 * (the spool's shard layout) opened 'wx', written (a JSON line of the same
 * size as an entry's, then the message), fdatasynced, closed, renamed, and
 * the directory opened, fsynced and closed; the two waits for the disk on
 * the thread pool, the rest synchronous (the cheapest way in Node). Every
 * message pays its own directory fsync (no group commit: that is the
 * project's own work).
 *
 *     node dist/test/bench/lmtp-floor-server.js DIR
 *
 * Prints its port on stdout; exits on SIGTERM. Files: DIR/00..ff/*, left for
 * the caller to remove.
 */
import { closeSync, fdatasync, fsync, mkdirSync, openSync, renameSync, writevSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { SMTPServer } from 'smtp-server';

const dir = process.argv[2]!;
const fdatasyncAsync = promisify(fdatasync);
const fsyncAsync = promisify(fsync);
const shards = Array.from({ length: 256 }, (_, i) => join(dir, i.toString(16).padStart(2, '0')));
for (const shard of shards) mkdirSync(shard, { recursive: true });

async function durable(chunks: readonly Buffer[], recipient: string): Promise<void> {
  const name = randomBytes(20).toString('hex');
  const shard = shards[Number.parseInt(name.slice(0, 2), 16)]!;
  const meta = Buffer.from(`${JSON.stringify({ metadata: { listId: recipient, envelopeSender: 'anne@example.net', envelopeRecipient: recipient, receivedAt: new Date().toISOString(), receivedVia: 'lmtp' }, control: { restores: 0, enqueuedAt: new Date().toISOString() } })}\n`);
  const temp = join(shard, `${name}.tmp`);
  const fd = openSync(temp, 'wx', 0o660);
  writevSync(fd, [meta, ...chunks]);
  await fdatasyncAsync(fd);
  closeSync(fd);
  renameSync(temp, join(shard, `${name}.pck`));
  const dirFd = openSync(shard, 'r');
  await fsyncAsync(dirFd);
  closeSync(dirFd);
}

const server = new SMTPServer({
  lmtp: true,
  banner: 'floor',
  disabledCommands: ['AUTH', 'STARTTLS'],
  hideENHANCEDSTATUSCODES: false,
  authOptional: true,
  disableReverseLookup: true,
  logger: false,
  onData(stream, session, callback) {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => {
      Promise.all(session.envelope.rcptTo.map((rcpt) => durable(chunks, rcpt.address))).then(
        () => callback(null, session.envelope.rcptTo.map(() => 'queued') as unknown as string),
        (error: Error) => callback(error),
      );
    });
  },
});
server.listen(0, '127.0.0.1', () => {
  const address = server.server.address();
  process.stdout.write(`${typeof address === 'object' && address !== null ? address.port : 0}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
