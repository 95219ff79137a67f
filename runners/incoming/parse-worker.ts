/**
 * The MIME view of a post that the posting chain needs, computed by
 * mailparser in the runner's piscina pool (ctx.runTask), never on the
 * runner's event loop: mail is untrusted, and a MIME bomb (deep nesting,
 * thousands of parts, pathological encodings) must cost one entry, not the
 * runner. The pool's time limit (runner option `parseTimeout`) terminates a
 * worker that takes too long: the entry fails with TaskTimeoutError and goes
 * to `shunt`. The caller never sends a message larger than `parseMaxSize`
 * here (see rules/size.ts for what happens to those).
 *
 * Only a summary comes back: the first non-blank lines of the text (for the
 * Approved: pseudo-header and administrivia commands) and attachment counts
 * and sizes. Attachment bodies are streamed and counted, never kept, so a
 * 25 MB attachment costs its parse time, not 25 MB of heap per copy.
 *
 * Pure computation, no files: nothing to lose if the worker dies mid-task.
 */
import { MailParser, type AttachmentStream, type MessageText } from 'mailparser';
import { firstLines, TEXT_LINES } from './header-scan.js';

export interface ParseTask {
  message: Uint8Array;
}

export interface MessageSummary {
  /** Whether mailparser read the message (false: too large to parse, or it failed). */
  parsed: boolean;
  /** Set when the message was larger than the parse limit and not parsed. */
  tooLargeToParse?: number;
  /** Set when mailparser failed on the message. */
  parseError?: string;
  /** The first TEXT_LINES non-blank lines of the text/plain body, trimmed. */
  textLines: string[];
  attachments: number;
  attachmentBytes: number;
}

export default function summarize(task: ParseTask): Promise<MessageSummary> {
  return new Promise((resolve) => {
    const summary: MessageSummary = { parsed: false, textLines: [], attachments: 0, attachmentBytes: 0 };
    let settled = false;
    const settle = (error?: Error): void => {
      if (settled) return;
      settled = true;
      if (error) summary.parseError = error.message;
      else summary.parsed = true;
      resolve(summary);
    };
    // HTML is neither converted nor kept: the chain reads only text/plain (as Mailman does).
    const parser = new MailParser({ skipHtmlToText: true, skipTextToHtml: true, skipImageLinks: true, skipTextLinks: true });
    parser.on('data', (data: AttachmentStream | MessageText) => {
      if (data.type === 'attachment') {
        summary.attachments++;
        data.content.on('data', (chunk: Buffer) => (summary.attachmentBytes += chunk.length));
        data.content.on('end', () => data.release());
        data.content.on('error', () => data.release());
      } else if (typeof data.text === 'string') {
        summary.textLines = firstLines(data.text, TEXT_LINES);
      }
    });
    parser.on('error', (error: Error) => settle(error));
    parser.on('end', () => settle());
    parser.end(Buffer.from(task.message.buffer, task.message.byteOffset, task.message.byteLength));
  });
}
