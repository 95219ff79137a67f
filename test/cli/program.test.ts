/**
 * The lazily loaded command tree (src/cli/program.ts): the table that
 * `switchyard --help` lists from says what each command module says, and
 * the command an argument list names is the one loaded.
 */
import { readFile } from 'node:fs/promises';
import { Help } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram, commandNameIn, COMMANDS } from '../../src/cli/program.js';
import { runCli } from '../support/cli.js';

describe('the command table', () => {
  it.each(COMMANDS.map((entry) => [entry.name, entry] as const))('%s: the loaded command has the name, description and usage the table lists', async (_name, entry) => {
    const command = await entry.load();
    expect(command.name()).toBe(entry.name);
    expect(command.description()).toBe(entry.description);
    expect(new Help().subcommandTerm(command)).toBe(`${entry.name}${entry.usage ? ` ${entry.usage}` : ''}`);
  });

  it('loads the command the arguments name, and only it: the others are stubs without subcommands or options', async () => {
    const program = await buildProgram(['node', 'switchyard', '--home', '/nowhere', 'queue', 'count']);
    const queue = program.commands.find((command) => command.name() === 'queue')!;
    expect(queue.commands.map((command) => command.name())).toContain('count');
    const lists = program.commands.find((command) => command.name() === 'lists')!;
    expect(lists.commands).toEqual([]);
    expect(program.commands.map((command) => command.name())).toEqual(COMMANDS.map((entry) => entry.name));
  });
});

describe('commandNameIn', () => {
  it.each([
    [['queue', 'count'], 'queue'],
    [['--home', 'queue', 'lists', 'list'], 'lists'],
    [['--home=/x', 'status', '--json'], 'status'],
    [['help', 'members'], 'members'],
    [['--help'], undefined],
    [[], undefined],
  ] as const)('%j names %s', (args, name) => {
    expect(commandNameIn(['node', 'switchyard', ...args])).toBe(name);
  });
});

describe('switchyard --help and help COMMAND', () => {
  it('lists every command with its description, and `help lists` shows the subcommands of lists', async () => {
    const help = await runCli(['--help']);
    expect(help.code).toBe(0);
    for (const entry of COMMANDS) expect(help.stdout).toContain(entry.name);
    expect(help.stdout.replace(/\s+/g, ' ')).toContain(COMMANDS.find((entry) => entry.name === 'status')!.description);
    const lists = await runCli(['help', 'lists']);
    expect(lists.code).toBe(0);
    expect(lists.stdout).toMatch(/create.*\n[\s\S]*remove/);
  });

  it('--version (and -V) prints the version of package.json and exits 0, as `mailman --version` does', async () => {
    const { version } = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      const result = await runCli([flag]);
      expect(result.code, flag).toBe(0);
      expect(result.stdout.trim(), flag).toBe(version);
    }
  });

  it('an unknown command still gets commander\'s suggestion and exit 2', async () => {
    const result = await runCli(['lsts']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('(Did you mean lists?)');
  });
});
