/**
 * The HTTP service as the master runs it: `[http] enabled` decides whether
 * it runs, a taken port makes `start` report it as it does for LMTP (exit 4
 * unless --allow-degraded) and the service takes the port once it is free;
 * the public routes' rate limit and the body limit answer with their SY_*
 * codes. Real masters, real sockets on 127.0.0.1.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:net';
import { freePort } from '../support/net.js';
import { builtInRunnersOff, makeHome, removeHome, runCli, schedulerOff, startMaster, testConfig, type MasterHandle } from '../master/harness.js';
import { withHomeApp } from '../support/home-app.js';
import { createApiToken } from '../../src/app/api-tokens.js';
import type { StatusReport } from '../../src/master/protocol.js';

const homes: string[] = [];
const started: string[] = [];
const masters: MasterHandle[] = [];
const servers: Server[] = [];

afterEach(async () => {
  for (const dir of started.splice(0)) await runCli(['--home', dir, 'stop']);
  for (const m of masters.splice(0)) await m.stop();
  for (const s of servers.splice(0)) await new Promise<void>((resolve) => s.close(() => resolve()));
  for (const dir of homes.splice(0)) await removeHome(dir);
});

/**
 * A home whose master runs the HTTP service (when `[http]` says so) and, unless `scheduler` is false,
 * the scheduler: these tests are about the service, and each queue runner or service is one more node
 * process to start (~0.3 s of CPU). The master with the service off keeps the scheduler (it supervises something).
 */
async function home(toml: string, options: { scheduler?: boolean } = {}): Promise<string> {
  const dir = await makeHome(`${toml}\n${builtInRunnersOff()}\n${options.scheduler === false ? schedulerOff() : ''}`);
  homes.push(dir);
  return dir;
}

async function holdPort(port: number): Promise<Server> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  servers.push(server);
  return server;
}

describe('[http] enabled', () => {
  it('false: no http service runs, the ready line names none', async () => {
    const dir = await home(testConfig('[smtp]\nprobeTimeout = 0\n'));
    const m = await startMaster(dir);
    masters.push(m);
    expect((await m.status()).runners.map((r) => r.name)).not.toContain('http');
    expect(m.lines.find((l) => typeof l.msg === 'string' && l.msg.startsWith('switchyard ready: '))!.msg).not.toContain('http on');
  }, 120_000);
});

describe('start with the HTTP port taken', () => {
  it('exits 4 saying "started, but http is not listening on HOST:PORT: address in use"; status says so; the service takes the port once it is free', async () => {
    const port = await freePort();
    const holder = await holdPort(port);
    const dir = await home(testConfig(`[http]\nport = ${port}\n\n[smtp]\nprobeTimeout = 0\n`), { scheduler: false });
    started.push(dir);
    const degraded = await runCli(['--home', dir, 'start']);
    expect(degraded.code).toBe(4);
    expect(degraded.stdout).toContain(`switchyard: started, but http is not listening on 127.0.0.1:${port}: address in use\n`);
    expect(degraded.stderr).toContain('--allow-degraded');
    const status = JSON.parse((await runCli(['--home', dir, 'status', '--json'])).stdout) as StatusReport;
    expect(status.runners.find((r) => r.name === 'http')!.detail).toMatch(new RegExp(`^not listening on 127\\.0\\.0\\.1:${port}: address in use; next attempt in \\d+s$`));
    servers.splice(servers.indexOf(holder), 1);
    await new Promise<void>((resolve) => holder.close(() => resolve()));
    // The retries double from master.restartBackoff to restartBackoffMax (20 ms to 200 ms in testConfig):
    // it answers within a fraction of a second of the port coming free (a minute at most with the defaults).
    const deadline = Date.now() + 120_000;
    let answered: Response | undefined;
    while (answered === undefined && Date.now() < deadline) {
      answered = await fetch(`http://127.0.0.1:${port}/api/v1/system/version`).catch(async () => {
        await new Promise((resolve) => setTimeout(resolve, 100));
        return undefined;
      });
    }
    expect(answered?.status).toBe(200);
    const after = JSON.parse((await runCli(['--home', dir, 'status', '--json'])).stdout) as StatusReport;
    expect(after.runners.find((r) => r.name === 'http')!.detail).toBeNull();
  }, 240_000);
});

describe('limits', () => {
  it('the public routes answer 429 SY_API_RATE_LIMITED past http.rateLimit a minute; a body over http.bodyLimit is 413 SY_API_TOO_LARGE', async () => {
    const port = await freePort();
    const dir = await home(testConfig(`[http]\nport = ${port}\nrateLimit = 3\nbodyLimit = 2048\n\n[smtp]\nprobeTimeout = 0\n`), { scheduler: false });
    const m = await startMaster(dir);
    masters.push(m);
    const base = `http://127.0.0.1:${port}`;
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await fetch(`${base}/api/v1/system/version`)).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    const limited = await fetch(`${base}/api/openapi.json`);
    expect(limited.status).toBe(429);
    expect(((await limited.json()) as { error: { code: string; temporary: boolean } }).error).toMatchObject({ code: 'SY_API_RATE_LIMITED', temporary: true });
    // Made in this process, as `switchyard tokens create` would (tested in test/cli): no CLI start-up.
    const { token } = await withHomeApp(dir, (app) => createApiToken(app, { name: 'ops', role: 'admin' }));
    const big = await fetch(`${base}/api/v1/lists`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ address: 'big@lists.example.org', description: 'x'.repeat(4096) }),
    });
    expect(big.status).toBe(413);
    expect(((await big.json()) as { error: { code: string } }).error.code).toBe('SY_API_TOO_LARGE');
    // Token routes are not rate-limited as the public ones are.
    for (let i = 0; i < 5; i++) expect((await fetch(`${base}/api/v1/lists`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    // Nothing on the service's stderr (a library's deprecation warning there reads as trouble in the master's log).
    expect(m.lines.filter((line) => line.msg === 'runner wrote to stderr' && line.runner === 'http')).toEqual([]);
  }, 120_000);
});

describe('pages', () => {
  it('an unknown page is an HTML 404 under a strict Content-Security-Policy and no Referer; the stylesheet is served; the API still answers JSON', async () => {
    const port = await freePort();
    const dir = await home(testConfig(`[http]\nport = ${port}\n\n[smtp]\nprobeTimeout = 0\n`), { scheduler: false });
    const m = await startMaster(dir);
    masters.push(m);
    const base = `http://127.0.0.1:${port}`;
    const missing = await fetch(`${base}/lists/<script>alert(1)</script>`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toMatch(/^text\/html/);
    expect(missing.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(missing.headers.get('content-security-policy')).not.toContain('script-src');
    expect(missing.headers.get('referrer-policy')).toBe('no-referrer');
    expect(missing.headers.get('x-frame-options')).toBe('DENY');
    const page = await missing.text();
    expect(page).toContain('SY_API_NOT_FOUND');
    expect(page).not.toContain('<script>');
    const css = await fetch(`${base}/static/switchyard.css`);
    expect(css.status).toBe(200);
    expect(css.headers.get('content-type')).toMatch(/^text\/css/);
    const api = await fetch(`${base}/api/v1/nothing`);
    expect(api.status).toBe(404);
    expect(((await api.json()) as { error: { code: string } }).error.code).toBe('SY_API_NOT_FOUND');
  }, 120_000);
});
