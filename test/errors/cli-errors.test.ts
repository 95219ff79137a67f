/**
 * How the built `switchyard` command reports an error that ends a command:
 * `switchyard: SY_CODE: message` on stderr, or with `--json` one JSON object
 * `{"error": {"code", "message", "temporary"}}` on stdout; the exit code is
 * the same either way.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';

let home: string;

beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'switchyard-cli-errors-'));
});

afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

interface JsonError {
  error: { code: string; message: string; temporary: boolean };
}

describe('an error that ends a command', () => {
  it('is printed with its code: an unknown list is `switchyard: SY_LIST_UNKNOWN: no list ...`, exit 1', async () => {
    const result = await runCli(['--home', home, 'lists', 'show', 'nosuch@example.org']);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(`switchyard: SY_LIST_UNKNOWN: no list nosuch@example.org (\`switchyard lists list\` shows them); looked in the home ${home}\n`);
  });

  it('with --json is one JSON object on stdout with code, message and temporary, and the same exit code', async () => {
    const result = await runCli(['--home', home, 'lists', 'show', 'nosuch@example.org', '--json']);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('');
    const parsed = JSON.parse(result.stdout) as JsonError;
    expect(parsed).toEqual({
      error: { code: 'SY_LIST_UNKNOWN', message: `no list nosuch@example.org (\`switchyard lists list\` shows them); looked in the home ${home}`, temporary: false },
    });
  });

  it('keeps the exit code of its kind: an unknown list setting is a usage error (exit 2), in text and in JSON', async () => {
    expect((await runCli(['--home', home, 'lists', 'create', 'dev@example.org'])).code).toBe(0);
    const text = await runCli(['--home', home, 'lists', 'set', 'dev@example.org', 'noSuchSetting', 'x']);
    expect(text.code).toBe(2);
    expect(text.stderr).toMatch(/^switchyard: SY_LIST_SETTING: list setting noSuchSetting: /);
    const json = await runCli(['--home', home, 'lists', 'set', 'dev@example.org', 'noSuchSetting', 'x', '--json']);
    expect(json.code).toBe(2);
    expect((JSON.parse(json.stdout) as JsonError).error).toMatchObject({ code: 'SY_LIST_SETTING', temporary: false });
  });

  it('a missing home is SY_HOME_MISSING in JSON too (the global error path honours --json)', async () => {
    const missing = join(home, 'nope');
    const result = await runCli(['--home', missing, 'lists', 'list', '--json']);
    expect(result.code).toBe(1);
    expect((JSON.parse(result.stdout) as JsonError).error).toEqual({
      code: 'SY_HOME_MISSING',
      message: `no switchyard home at ${missing}: pass --home or set SWITCHYARD_HOME`,
      temporary: false,
    });
  });

  it('a command line commander refuses is SY_USAGE, exit 2; with --json also a JSON object on stdout', async () => {
    const text = await runCli(['--home', home, 'lists', 'show']);
    expect(text.code).toBe(2);
    expect(text.stderr).toMatch(/^switchyard: SY_USAGE: missing required argument 'list'/);
    const json = await runCli(['--home', home, 'lists', 'list', '--json', '--bogus']);
    expect(json.code).toBe(2);
    expect((JSON.parse(json.stdout) as JsonError).error).toMatchObject({ code: 'SY_USAGE', temporary: false });
    expect((JSON.parse(json.stdout) as JsonError).error.message).toContain('--bogus');
  });
});
