/**
 * What `switchyard start` (the built CLI, in the background, on a temp home)
 * says about the start beyond "started": the LMTP port held by another
 * listener makes it exit 4 with "started, but lmtp is not listening on ...:
 * address in use" (0 with --allow-degraded), its log saying so at error level; and whether the smarthost
 * answers (a real SMTP sink, then a closed port), which `status` shows too,
 * in text and JSON. A smarthost that does not answer is a warning: exit 0.
 */
import { readdir, readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { StatusReport } from '../../src/master/protocol.js';
import { SmtpSink } from '../fixtures/smtp-sink.js';
import { freePort } from '../support/net.js';
import { builtInRunnersOff, makeHome, schedulerOff, removeHome, runCli, stopDaemon, testConfig, type LogLine } from './harness.js';

const homes: string[] = [];
const started: string[] = [];
const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  // Cleanup, not the stop command (test 1 runs that): SIGTERM to the daemon, without a CLI process.
  for (const dir of started.splice(0)) await stopDaemon(dir);
  for (const cleanup of cleanups.splice(0)) await cleanup();
  for (const dir of homes.splice(0)) await removeHome(dir);
});

/**
 * What start reports comes from the LMTP service and the outgoing runner: the other built-in runners and the scheduler are off (each is seconds of module loading on a loaded machine),
 * and the outgoing runner too where the test is about LMTP only (`keep` empty).
 */
async function home(toml: string, keep: readonly string[] = ['outgoing']): Promise<string> {
  const dir = await makeHome(`${toml}\n${builtInRunnersOff(keep)}\n${schedulerOff()}`);
  homes.push(dir);
  return dir;
}

async function start(dir: string, ...args: string[]): Promise<Awaited<ReturnType<typeof runCli>>> {
  started.push(dir);
  return runCli(['--home', dir, 'start', ...args]);
}

/** Another program on the LMTP port (a Mailman still running, say). */
async function holdPort(port: number): Promise<Server> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return server;
}

async function sink(): Promise<SmtpSink> {
  const s = await SmtpSink.start();
  cleanups.push(() => s.close());
  return s;
}

function outgoingOf(report: StatusReport) {
  return report.runners.find((r) => r.name === 'outgoing')!;
}

describe('start with the LMTP port taken', () => {
  it('exits 4 saying "started, but lmtp is not listening on HOST:PORT: address in use"; 0 with --allow-degraded, saying the same; the log says the port is in use, at error level, never a connection error', async () => {
    const lmtpPort = await freePort();
    await holdPort(lmtpPort);
    // Log files: what the daemon's processes logged is read back after the first stop.
    const dir = await home(testConfig(`[lmtp]\nport = ${lmtpPort}\n`).replace('destination = "stdout"', 'destination = "files"'), []);

    const degraded = await start(dir);
    expect(degraded.code).toBe(4);
    expect(degraded.stdout).toContain('switchyard: master started (pid ');
    expect(degraded.stdout).toContain(`switchyard: started, but lmtp is not listening on 127.0.0.1:${lmtpPort}: address in use\n`);
    expect(degraded.stderr).toContain('--allow-degraded');
    expect((await runCli(['--home', dir, 'stop'])).code).toBe(0);

    // Every process's log (the master's and the LMTP service's), complete once the master stopped.
    const logs = join(dir, 'logs');
    const lines: LogLine[] = [];
    for (const name of await readdir(logs)) lines.push(...(await readFile(join(logs, name), 'utf8')).trim().split('\n').map((text) => JSON.parse(text) as LogLine));
    const failures = lines.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('lmtp is not listening'));
    expect(failures.length).toBeGreaterThanOrEqual(1);
    expect(failures[0]!.level).toBe(50);
    expect(failures[0]!.msg).toContain(`lmtp is not listening on 127.0.0.1:${lmtpPort}: address in use`);
    expect(lines.filter((l) => l.msg === `started, but lmtp is not listening on 127.0.0.1:${lmtpPort}: address in use`)).toHaveLength(1);
    expect(lines.filter((l) => typeof l.msg === 'string' && /connection error/i.test(l.msg))).toEqual([]);

    const allowed = await start(dir, '--allow-degraded');
    expect(allowed.code).toBe(0);
    expect(allowed.stdout).toContain(`switchyard: started, but lmtp is not listening on 127.0.0.1:${lmtpPort}: address in use\n`);
    const lmtp = (JSON.parse((await runCli(['--home', dir, 'status', '--json'])).stdout) as StatusReport).runners.find((r) => r.name === 'lmtp')!;
    expect(lmtp.detail).toMatch(new RegExp(`^not listening on 127\\.0\\.0\\.1:${lmtpPort}: address in use; next attempt in \\d+s$`));
  }, 120_000);
});

describe('the smarthost check at start', () => {
  it('a real SMTP sink: start says "smarthost HOST:PORT answers", so does status (text and JSON); nothing is sent', async () => {
    const smtp = await sink();
    const dir = await home(testConfig(`[smtp]\nport = ${smtp.port}\n`));
    const result = await start(dir);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`switchyard: smarthost 127.0.0.1:${smtp.port} answers\n`);
    expect(smtp.connections).toBeGreaterThanOrEqual(1);
    expect(smtp.accepted).toEqual([]);

    const text = await runCli(['--home', dir, 'status']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`\\noutgoing 0/1: smarthost 127\\.0\\.0\\.1:${smtp.port} answers \\(as of \\S+\\)\\n`));
    const json = JSON.parse((await runCli(['--home', dir, 'status', '--json'])).stdout) as StatusReport;
    expect(outgoingOf(json).info).toMatchObject({ smarthost: { destination: `127.0.0.1:${smtp.port}`, answers: true } });
  }, 120_000);

  it('a closed port: start warns "smarthost HOST:PORT does not answer: connection refused" and still exits 0; status says the same', async () => {
    const port = await freePort();
    const dir = await home(testConfig(`[smtp]\nport = ${port}\n`));
    const result = await start(dir);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`switchyard: warning: smarthost 127.0.0.1:${port} does not answer: connection refused; outgoing mail waits in retry until it does\n`);

    const text = await runCli(['--home', dir, 'status']);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`\noutgoing 0/1: smarthost 127.0.0.1:${port} does not answer: connection refused (as of `);
    const json = JSON.parse((await runCli(['--home', dir, 'status', '--json'])).stdout) as StatusReport;
    expect(outgoingOf(json).info).toMatchObject({ smarthost: { destination: `127.0.0.1:${port}`, answers: false, reason: 'connection refused' } });
  }, 120_000);

  it('a smarthost that greets with 421: does not answer, with its reply', async () => {
    const smtp = await SmtpSink.start({ script: { connect: () => 421 } });
    cleanups.push(() => smtp.close());
    const dir = await home(testConfig(`[smtp]\nport = ${smtp.port}\n`));
    const result = await start(dir);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`switchyard: warning: smarthost 127\\.0\\.0\\.1:${smtp.port} does not answer: greeting answered 421 `));
  }, 120_000);
});
