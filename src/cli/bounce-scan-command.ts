/**
 * `switchyard bounce-scan FILE...`: what the bounce runner would make of
 * saved messages, for an operator puzzling over a bounce (and for tests).
 * Prints one JSON object per file and line:
 *
 *     {"file":"b.eml","permanent":["anne@example.org"],"temporary":[],"detector":"dsn"}
 *
 * with `recipients` (per address: class, reason from src/bounce/reasons.ts,
 * enhanced status, SMTP reply code, the remote MTA's reply text), and
 * with `notBounce` (auto-reply, challenge-response, success-report, complaint;
 * a complaint with `complaint`: its feedback type and who complained) and, for
 * VERP, `contentDetector` when they apply. `--envelope-recipient` gives the
 * address the message was delivered to, so VERP is decoded as the runner
 * does. Runs the runner's classifier (runners/bounce/classify.ts) in this
 * process; reads only the files named (`-` is stdin), writes nothing.
 *
 * Exit codes: 0 every file scanned, 1 some file could not be read (the others
 * are still scanned), 2 bad usage.
 */
import { readFile } from 'node:fs/promises';
import { Command } from 'commander';
import type { ClassifyOptions } from '../../runners/bounce/classify.js';
import { REASON_NAMES } from '../bounce/reasons.js';
import { printable } from './table.js';

async function readInput(file: string): Promise<Buffer> {
  if (file !== '-') return readFile(file);
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

export function bounceScanCommand(): Command {
  return new Command('bounce-scan')
    .description('classify saved bounce messages as the bounce runner would: one JSON line per file')
    .argument('<file...>', 'message files (RFC 5322, as saved from a mail client or `queue show --raw`); - reads stdin')
    .option('--envelope-recipient <address>', 'the address the message was delivered to (decodes VERP, name-bounces+user=domain@...)')
    .option('--json', 'print JSON lines (the default and only format; accepted so scripts can say so)')
    .addHelpText('after', `
Output, per file:
  {"file": "...", "permanent": [...], "temporary": [...], "detector": "dsn" | "exim" | ... | null,
   "recipients": [{"address", "permanent", "reason", "status", "reply", "replyText"}, ...]}
  (reason: one of ${REASON_NAMES.join(', ')}; status, reply and replyText when the bounce gives them)
  plus "notBounce" (auto-reply, challenge-response, success-report, complaint) with, for a complaint
  (ARF feedback report, SES complaint), "complaint": {"feedbackType", "addresses"}; or, with VERP,
  "contentDetector" when they apply; {"file": "...", "error": "..."} for a file that cannot be read.

Exit codes: 0 every file scanned, 1 a file could not be read, 2 bad arguments.`)
    .action(async (files: string[], options: { envelopeRecipient?: string }) => {
      // Loaded here, not at start: the MIME parser and the detectors are for this command only.
      const { classifyMessage } = await import('../../runners/bounce/classify.js');
      const classifyOptions: ClassifyOptions = options.envelopeRecipient === undefined ? {} : { envelopeRecipient: options.envelopeRecipient };
      for (const file of files) {
        let raw: Buffer;
        try {
          raw = await readInput(file);
        } catch (error) {
          const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
          process.stderr.write(`switchyard: cannot read ${printable(file)}: ${reason}\n`);
          process.stdout.write(`${JSON.stringify({ file, error: reason })}\n`);
          process.exitCode = 1;
          continue;
        }
        const result = await classifyMessage(raw, classifyOptions);
        const { messageId: _messageId, ...shown } = result;
        process.stdout.write(`${JSON.stringify({ file, ...shown })}\n`);
      }
    });
}
