/**
 * `switchyard archive export LIST`: the list's archive (kept in the store,
 * src/app/archive.ts) as an mboxrd file, for HyperKitty, mutt, a backup, or
 * another switchyard (`switchyard import archive --quoting mboxrd`).
 *
 * Files: with --output FILE, writes FILE.tmp-PID (mode 0640: an archive may
 * be private), fsyncs it and renames it to FILE: killed midway, FILE is as
 * it was and a stale FILE.tmp-PID is left. Without --output, the mbox goes
 * to stdout.
 */
import { once } from 'node:events';
import { open, rename, rm } from 'node:fs/promises';
import { Command } from 'commander';
import { exportArchive } from '../app/archive.js';
import { withApp } from './app-context.js';
import { CliError, EXIT_USAGE } from './exit-codes.js';
import { listArgument, printJson } from './lists-command.js';

export function archiveCommand(): Command {
  return new Command('archive')
    .description("list archives (kept in the store, one per site): export a list's archive as mboxrd")
    .addCommand(exportCommand())
    .addHelpText('after', `
Examples:
  switchyard archive export dev@lists.example.org --output dev.mbox
  switchyard archive export dev@lists.example.org | gzip > dev.mbox.gz

Importing an mbox (HyperKitty's export, pipermail's .mbox, an export of this
command) is \`switchyard import archive\`.`);
}

async function writeFileAtomically(path: string, produce: (write: (chunk: Buffer) => Promise<void>) => Promise<number>): Promise<{ messages: number; bytes: number }> {
  const temporary = `${path}.tmp-${process.pid}`;
  const handle = await open(temporary, 'w', 0o640);
  let bytes = 0;
  try {
    const messages = await produce(async (chunk) => {
      await handle.write(chunk);
      bytes += chunk.length;
    });
    await handle.sync();
    await handle.close();
    await rename(temporary, path);
    return { messages, bytes };
  } catch (error) {
    await handle.close().catch(() => undefined);
    await rm(temporary, { force: true });
    throw error;
  }
}

async function writeStdout(chunk: Buffer): Promise<void> {
  if (!process.stdout.write(chunk)) await once(process.stdout, 'drain');
}

function exportCommand(): Command {
  return new Command('export')
    .description("write the list's archive as an mboxrd file: From_ lines, >From quoting, each message's bytes as archived")
    .argument('<list>', 'posting address (an archive outlives its list: a removed list can still be exported)', listArgument)
    .option('--output <file>', 'write to this file (replaced when complete) instead of stdout')
    .option('--json', 'with --output: print what was written as JSON')
    .addHelpText('after', `
Messages come in the order they were archived (by date). Each record is a
From_ line (envelope sender, or MAILER-DAEMON, and the date archived, UTC),
the message with every line matching /^>*From / given one more ">" (mboxrd,
reversible), and an empty line. Line ends are kept as archived (CRLF stays
CRLF); a message not ending in a line end gains one.

Exit codes: 0 ok (an empty archive gives an empty file), 1 error (no such list), 2 bad arguments.`)
    .action(async (list: string, options: { output?: string; json?: boolean }, command: Command) => {
      if (options.json === true && options.output === undefined) throw new CliError('--json needs --output: without it the mbox itself goes to stdout', EXIT_USAGE, { code: 'SY_USAGE' });
      const output = options.output;
      const result = await withApp(command, async (app) => {
        if (output === undefined) return { messages: await exportArchive(app, list, writeStdout), bytes: undefined };
        return writeFileAtomically(output, (write) => exportArchive(app, list, write));
      });
      if (output === undefined) return;
      if (options.json) return printJson({ list, file: output, messages: result.messages, bytes: result.bytes });
      process.stdout.write(`${list}: ${result.messages} message${result.messages === 1 ? '' : 's'} (${result.bytes} bytes) written to ${output}\n`);
    });
}
