/**
 * DKIM through a real master and the runners a post passes through (lmtp,
 * incoming, archive, outgoing, and retry for a temporary failure on a loaded
 * machine; the others and the scheduler are off: nothing
 * here goes through them, and each is a node process to start at `start` and
 * again at each `restart`): keys made with
 * `switchyard dkim keygen`, configured in switchyard.toml; `start` says what
 * signs; a post over LMTP reaches the members (a real SMTP sink on loopback)
 * signed, and the copy as received verifies with mailauth and dkimpy. A
 * key file missing makes `start` fail with SY_DKIM_KEY naming it, and no
 * master keeps running; removed from a running master, `restart` refuses
 * with it and `status` shows it.
 */
import { rename } from 'node:fs/promises';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SmtpSink } from '../fixtures/smtp-sink.js';
import { dkimpyVerify, mailauthVerify, type Records } from '../fixtures/dkim-verifiers.js';
import { freePort } from '../ingress/harness.js';
import { builtInRunnersOff, makeHome, removeHome, runCli, schedulerOff, stopDaemon, testConfig } from '../master/harness.js';
import { openStore } from '../../src/store/index.js';

const LIST = 'team@lists.example.org';
const TIMEOUT = 300_000;

let sink: SmtpSink;
let home: string;
let lmtpPort: number;
let started = false;
const records: Records = {};

beforeAll(async () => {
  sink = await SmtpSink.start({ keepBodies: true });
  lmtpPort = await freePort();
  home = await makeHome(
    testConfig(
      `[smtp]\nport = ${sink.port}\n\n[lmtp]\nport = ${lmtpPort}\n\n[dkim.domains."lists.example.org"]\nselector = "r1"\nkeys = ["dkim/lists.example.org.r1.pem", { file = "dkim/lists.example.org.e1.pem", selector = "e1" }]\n\n${builtInRunnersOff(['incoming', 'archive', 'outgoing', 'retry'])}\n${schedulerOff()}`,
    ),
  );
  // The two keys (two CLI processes) and the list (in this process) at once: none waits for another.
  const keygen = async (selector: string, type: string): Promise<void> => {
    const made = await runCli(['--home', home, 'dkim', 'keygen', 'lists.example.org', '--selector', selector, '--type', type, '--json']);
    expect(made.code, made.stderr).toBe(0);
    const record = (JSON.parse(made.stdout) as { record: { name: string; text: string } }).record;
    records[record.name] = record.text;
  };
  const makeList = async (): Promise<void> => {
    const store = openStore(home);
    try {
      await store.createList({ address: LIST, settings: { verp: true } });
      await store.addMembers(LIST, [{ address: 'ann@example.org' }, { address: 'bob@example.net' }]);
    } finally {
      await store.close();
    }
  };
  await Promise.all([keygen('r1', 'rsa'), keygen('e1', 'ed25519'), makeList()]);
}, TIMEOUT);

afterAll(async () => {
  // Cleanup, not the stop command: SIGTERM to the daemon, without a CLI process.
  if (started) await stopDaemon(home);
  await sink?.close();
  if (home) await removeHome(home);
});

it('a key file missing: start fails with SY_DKIM_KEY naming the file, and no master runs', async () => {
  const key = join(home, 'dkim', 'lists.example.org.e1.pem');
  await rename(key, `${key}.away`);
  try {
    const result = await runCli(['--home', home, 'start']);
    expect(result.code).not.toBe(0);
    expect(`${result.stdout}${result.stderr}`).toMatch(/SY_DKIM_KEY[^\n]*lists\.example\.org\.e1\.pem: no such file/);
    expect((await runCli(['--home', home, 'status'])).code).toBe(3);
  } finally {
    await rename(`${key}.away`, key);
  }
}, TIMEOUT);

it('start says what signs; a post over LMTP reaches each member signed with both keys, and verifies as received', async () => {
  const result = await runCli(['--home', home, 'start']);
  started = true;
  expect(result.code, result.stderr).toBe(0);
  expect(result.stdout).toContain('DKIM signing for lists.example.org (rsa-sha256 s=r1, ed25519-sha256 s=e1)');
  const raw = Buffer.from(
    `From: Ann <ann@example.org>\r\nTo: Team <${LIST}>\r\nSubject: signed post\r\nMessage-ID: <dkim-e2e@example.org>\r\nDate: Sat, 05 Dec 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nGrüße, signed.\r\n`,
    'utf8',
  );
  const transport = nodemailer.createTransport({ lmtp: true, host: '127.0.0.1', port: lmtpPort });
  try {
    await transport.sendMail({ envelope: { from: 'ann@example.org', to: [LIST] }, raw });
  } finally {
    transport.close();
  }
  await sink.until(() => sink.accepted.filter((t) => t.body?.includes('dkim-e2e@example.org')).length === 2, 'the post at both members');
  // Each copy by both verifiers, the dkimpy processes side by side rather than one after the other.
  const verdicts = await Promise.all(sink.accepted.map(async (copy) => ({ mailauth: await mailauthVerify(copy.body!, records), dkimpy: await dkimpyVerify(copy.body!, records) })));
  for (const { mailauth, dkimpy } of verdicts) {
    expect(mailauth.map((r) => `${r.algorithm} ${r.result}`)).toEqual(['rsa-sha256 pass', 'ed25519-sha256 pass']);
    expect(dkimpy).toEqual([true, true]);
  }
}, TIMEOUT);

it('a key removed, then `restart`: refused with SY_DKIM_KEY naming the file, shown in `status`; the runners keep running; with the key back, restart works', async () => {
  expect(started).toBe(true);
  const key = join(home, 'dkim', 'lists.example.org.r1.pem');
  await rename(key, `${key}.away`);
  try {
    const refused = await runCli(['--home', home, 'restart', '--json']);
    expect(refused.code).toBe(1);
    const reply = JSON.parse(refused.stdout) as { restarted: boolean; refused: string };
    expect(reply.restarted).toBe(false);
    expect(reply.refused).toMatch(/SY_DKIM_KEY[^\n]*lists\.example\.org\.r1\.pem: no such file/);
    const status = await runCli(['--home', home, 'status', '--json']);
    expect(status.code).toBe(4);
    const report = JSON.parse(status.stdout) as { problems: string[]; runners: Array<{ name: string; state: string }> };
    expect(report.problems.some((problem) => /SY_DKIM_KEY[^\n]*lists\.example\.org\.r1\.pem/.test(problem))).toBe(true);
    expect(report.runners.find((r) => r.name === 'outgoing')?.state).toBe('running');
  } finally {
    await rename(`${key}.away`, key);
  }
  expect((await runCli(['--home', home, 'restart'])).code).toBe(0);
  const after = JSON.parse((await runCli(['--home', home, 'status', '--json'])).stdout) as { problems: string[] };
  expect(after.problems.filter((problem) => problem.includes('SY_DKIM_KEY'))).toEqual([]);
}, TIMEOUT);
