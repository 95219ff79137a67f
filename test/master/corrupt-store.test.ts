/**
 * A damaged switchyard.db under a real master (issue 11 §6): table pages of
 * the store overwritten on disk, then a post through the `in` queue, one over
 * LMTP, one through `inject`. Nothing is lost and nothing is silent: the
 * post goes to `retry` (not shunt), LMTP answers 451 and inject exits 75
 * naming the damage, the runners log at error level, and `status` shows the
 * damage as the incoming and lmtp runners' detail.
 */
import { open, stat } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, expect, it } from 'vitest';
import { Switchboard } from '../../queues/index.js';
import type { RunnerStatus, StatusReport } from '../../src/master/protocol.js';
import { openStore } from '../../src/store/index.js';
import { LIST, plainPost } from '../incoming/fixtures/messages.js';
import { freePort } from '../support/net.js';
import { builtInRunnersOff, makeHome, removeHome, runCli, schedulerOff, startMaster, testConfig, waitForEntries, type MasterHandle } from './harness.js';

let master: MasterHandle | undefined;
let home: string | undefined;

afterAll(async () => {
  await master?.stop();
  if (home) await removeHome(home);
});

/** The runner's status once `predicate` holds, looked at again as each log line arrives (as outgoing-status.test.ts). */
async function runnerWhen(handle: MasterHandle, name: string, predicate: (status: RunnerStatus) => boolean, what: string): Promise<RunnerStatus> {
  const of = (report: StatusReport): RunnerStatus | undefined => report.runners.find((r) => r.name === name);
  return of(
    await handle.statusWhen((report) => {
      const status = of(report);
      return status !== undefined && predicate(status);
    }, what),
  )!;
}

/** LHLO, MAIL, RCPT for `recipient`: the RCPT reply (routing reads the store there). */
async function lmtpRcpt(port: number, recipient: string): Promise<string> {
  const socket = connect(port, '127.0.0.1');
  const lines = createInterface({ input: socket })[Symbol.asyncIterator]();
  const reply = async (): Promise<string> => {
    for (;;) {
      const { value, done } = await lines.next();
      if (done) throw new Error('LMTP connection closed');
      if ((value as string)[3] !== '-') return value as string;
    }
  };
  try {
    await reply();
    socket.write('LHLO test.example\r\n');
    await reply();
    socket.write('MAIL FROM:<anne@example.org>\r\n');
    await reply();
    socket.write(`RCPT TO:<${recipient}>\r\n`);
    return await reply();
  } finally {
    socket.destroy();
  }
}

it('a damaged store: the post waits in retry, LMTP says 451, inject exits 75, the runners log errors and status shows it', async () => {
  const port = await freePort();
  // The store's users under test (lmtp, incoming) and retry; archive, bounces, virgin, command and the scheduler take no part.
  home = await makeHome(testConfig(`[runner.outgoing]\nenabled = false\n\n[lmtp]\nport = ${port}\n\n${builtInRunnersOff(['incoming', 'retry', 'outgoing'])}\n${schedulerOff()}`));
  const store = openStore(home);
  await store.createList({ address: LIST });
  await store.addMember(LIST, { address: 'anne@example.org' });
  await store.close();
  // Closed, so the WAL is checkpointed into the file: damage every page but the first (the schema).
  const db = join(home, 'switchyard.db');
  const { size } = await stat(db);
  const handle = await open(db, 'r+');
  await handle.write(Buffer.alloc(size - 4096, 0xaa), 0, size - 4096, 4096);
  await handle.close();

  master = await startMaster(home);
  const inQueue = new Switchboard({ root: join(home, 'queues'), name: 'in' });
  const id = await inQueue.enqueue(plainPost({ subject: 'while the store is damaged' }), {
    listId: LIST,
    envelopeSender: 'anne@example.org',
    envelopeRecipient: LIST,
    receivedAt: new Date().toISOString(),
    receivedVia: 'inject',
  });
  const [retried] = await waitForEntries(home, 'retry', 1);
  expect(retried).toContain(id.split('+')[1]);
  expect(await new Switchboard({ root: join(home, 'queues'), name: 'shunt' }).files()).toEqual([]);
  await master.waitForLine((line) => line.level === 50 && line.runner === 'incoming' && line.code === 'SY_STORE_CORRUPT', 'the incoming runner logging the damage at error level');
  const incoming = await runnerWhen(master, 'incoming', (r) => r.detail != null, 'the incoming detail');
  expect(incoming.state).toBe('running');
  expect(incoming.detail).toMatch(/^list store damaged since \S+, entries wait in retry: the list store .*switchyard\.db is damaged \(SQLITE_CORRUPT/);

  const rcpt = await lmtpRcpt(port, LIST);
  expect(rcpt).toMatch(/^451 /);
  expect(rcpt).toContain('is damaged');
  await master.waitForLine((line) => line.level === 50 && line.runner === 'lmtp' && line.code === 'SY_STORE_CORRUPT', 'the LMTP runner logging the damage at error level');
  const lmtp = await runnerWhen(master, 'lmtp', (r) => r.detail != null, 'the lmtp detail');
  expect(lmtp.detail).toMatch(/list store damaged since .* answering 451/);

  const injected = await runCli(['--home', home, 'inject', '--list', LIST], {}, plainPost({ subject: 'injected' }).toString('utf8'));
  expect(injected.code).toBe(75);
  expect(injected.stderr).toContain('is damaged');
  expect(injected.stderr).toContain('restore a backup');

  const table = await runCli(['--home', home, 'status']);
  expect(table.stdout).toContain('incoming 0/1: list store damaged since');
  const listed = await runCli(['--home', home, 'lists', 'list']);
  expect(listed.code).toBe(1);
  expect(listed.stderr).toContain('is damaged (SQLITE_CORRUPT');
});
