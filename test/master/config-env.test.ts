/**
 * What a runner process runs on: the configuration the master validated,
 * handed over as JSON (SWITCHYARD_CONFIG_JSON, src/master/supervisor-env.ts),
 * not switchyard.toml as it is when the runner starts. The JSON must carry
 * the validated object unchanged (the runner no longer validates it), and a
 * runner given it must not read the file at all: a file broken since the
 * master validated it cannot stop a restarted runner.
 */
import { fork } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { CONFIG_JSON_ENV, validatedConfigJson } from '../../src/master/supervisor-env.js';
import type { RunnerMessage } from '../../src/master/protocol.js';
import { makeHome, masterConfigJson, removeHome, ROOT, testConfig } from './harness.js';

const RUNNER_PROCESS = join(ROOT, 'dist/src/master/runner-process.js');

const homes: string[] = [];
afterEach(async () => {
  for (const home of homes.splice(0)) await removeHome(home);
});

async function home(toml: string): Promise<string> {
  const dir = await makeHome(toml);
  homes.push(dir);
  return dir;
}

/** Fork the runner process for `runner` in `dir` with `env`: 'ready' when it says so, else how it ended. */
function runRunner(dir: string, runner: string, env: Record<string, string>): Promise<{ outcome: 'ready' } | { outcome: 'exit'; code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
    delete childEnv.SWITCHYARD_HOME;
    const child = fork(RUNNER_PROCESS, ['--home', dir, '--runner', runner, '--slice', '0', '--slices', '1'], { env: childEnv, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    let ready = false;
    child.on('message', (message: RunnerMessage) => {
      if (message.type !== 'ready') return;
      ready = true;
      child.kill('SIGTERM');
    });
    child.on('exit', (code) => resolve(ready ? { outcome: 'ready' } : { outcome: 'exit', code, stderr }));
  });
}

describe('the configuration a runner process gets from its master', () => {
  it('round-trips through JSON unchanged: durations, octal umask, runner tables, DKIM domains', async () => {
    const dir = await home(
      testConfig(
        '[queues]\numask = "0027"\n\n[retry]\ninitialDelay = "90s"\nmaxDelay = "2h"\n\n[runner.outgoing]\ninstances = 2\nconcurrency = 5\n\n[dkim.domains."Lists.Example.ORG."]\nselector = "s1"\nkeys = ["dkim/s1.pem"]\n',
      ),
    );
    const loaded = await loadConfig(join(dir, 'switchyard.toml'));
    const carried = JSON.parse(validatedConfigJson(loaded)) as { config: unknown; runners: unknown };
    expect(carried).toEqual({ config: loaded.config, runners: loaded.runners });
    expect(loaded.config.queues.umask).toBe(0o027);
    expect(loaded.runners.find((runner) => runner.name === 'outgoing')?.instances).toBe(2);
  });

  it('runs a runner on the JSON alone: a switchyard.toml broken since the master validated it is not read', async () => {
    const dir = await home(testConfig(''));
    const json = await masterConfigJson(dir);
    await writeFile(join(dir, 'switchyard.toml'), '[queues\nthis is not TOML\n');
    // Without the JSON the runner reads the file, and fails on it: the JSON is what made the difference.
    const fromFile = await runRunner(dir, 'retry', {});
    expect(fromFile.outcome).toBe('exit');
    expect(fromFile.outcome === 'exit' && fromFile.code).not.toBe(0);
    expect(fromFile.outcome === 'exit' && fromFile.stderr).toMatch(/TOML syntax error|SY_CONFIG/);
    expect(await runRunner(dir, 'retry', { [CONFIG_JSON_ENV]: json })).toEqual({ outcome: 'ready' });
  });
});
