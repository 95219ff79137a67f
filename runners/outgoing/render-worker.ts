/**
 * Personalised copies (an out entry's `personalize`), rendered in the
 * runner's piscina pool (ctx.runTask) a batch of recipients per task, so a
 * 10,000-member post does not hold the runner's event loop.
 *
 * A copy is the original message's bytes, untouched, between two rendered
 * parts: `head`, the added header fields, placed at the top of the header
 * block; and `foot`, the footer appended to the body. The worker returns only
 * those parts per recipient; the runner concatenates head + message + foot
 * just before each transaction, so at most `smtp.maxConnections` whole copies
 * exist at once, never 10,000.
 *
 * Placeholders in header values and the footer: `{address}` the recipient,
 * `{list}` the list's posting address (or its listId when it has none),
 * `{unsubscribeToken}` the recipient's one-click token (src/app/one-click.ts)
 * that the runner signed and passes in `unsubscribeTokens` (the site secret
 * itself never enters the worker).
 *
 * The footer is added only where appending text to the raw body is correct:
 * a top-level Content-Type of text/plain (or none), a Content-Transfer-Encoding
 * of 7bit or 8bit (or none), and, when the footer is not ASCII, charset utf-8
 * with 8bit. Anything else (multipart, HTML, base64, quoted-printable, another
 * charset) gets the headers only: MIME-aware decoration (a footer part in a
 * multipart/mixed) is the incoming pipeline's job, done once before `out`.
 *
 * With `dkim` each copy is also signed (src/mail/dkim/signer.ts): its
 * DKIM-Signature fields go first in `head`, made over head + message + foot,
 * the bytes the runner sends. A signature that cannot be made is the copy's
 * `signError` (the runner then sends the entry to `retry`, never unsigned).
 *
 * Pure computation, no files: nothing to lose if the worker dies mid-task.
 */
import { formatField } from '../../src/mail/raw-message.js';
import { MessageSigner, type SigningSpec } from '../../src/mail/dkim/signer.js';
import { arcSet, type ArcSealSpec } from './sign-worker.js';

export interface Personalize {
  headers?: Record<string, string>;
  footer?: string;
}

export interface RenderTask {
  message: Uint8Array;
  recipients: string[];
  /** What `{list}` stands for. */
  list: string;
  personalize: Personalize;
  /** Sign each copy with these keys. */
  dkim?: SigningSpec;
  /** The one-click token of each recipient, in the order of `recipients` (when a value holds `{unsubscribeToken}`). */
  unsubscribeTokens?: string[];
  /** With `dkim`: an ARC set on each copy, sealed over the copy's own bytes (outgoing/arc-sealing.ts says when). */
  arc?: ArcSealSpec;
}

export interface RenderedCopy {
  head: Uint8Array;
  foot: Uint8Array;
  /** Why this copy could not be signed (with `dkim` only). */
  signError?: string;
}

interface MessageShape {
  /** The line ending the message uses: CRLF on the wire, LF if it was stored so. */
  eol: string;
  /** Whether the footer may be appended to the body (see the module comment). */
  footerAllowed: boolean;
  /** Footer must be ASCII (charset not utf-8 or transfer encoding 7bit). */
  asciiOnly: boolean;
  /** The body is empty or already ends with a line break. */
  endsWithEol: boolean;
}

/** The top-level header fields, unfolded, names lower-cased (first occurrence wins). */
function headerFields(headerBlock: string): Map<string, string> {
  const fields = new Map<string, string>();
  const unfolded = headerBlock.replace(/\r?\n[ \t]/g, ' ');
  for (const line of unfolded.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    if (!fields.has(name)) fields.set(name, line.slice(colon + 1).trim());
  }
  return fields;
}

export function messageShape(message: Uint8Array): MessageShape {
  const bytes = Buffer.from(message.buffer, message.byteOffset, message.byteLength);
  // latin1: one char per byte, so offsets are byte offsets.
  const text = bytes.toString('latin1');
  // The first line's ending says which the message uses (CRLF unless it is LF).
  const firstNewline = text.indexOf('\n');
  const eol = firstNewline > 0 && text[firstNewline - 1] !== '\r' ? '\n' : '\r\n';
  const headerEnd = text.indexOf(eol + eol);
  if (headerEnd < 0) return { eol, footerAllowed: false, asciiOnly: true, endsWithEol: true };
  const fields = headerFields(text.slice(0, headerEnd));
  const contentType = fields.get('content-type');
  const mediaType = (contentType ?? 'text/plain').split(';')[0]!.trim().toLowerCase();
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(contentType ?? '')?.[1]?.toLowerCase() ?? 'us-ascii';
  const encoding = (fields.get('content-transfer-encoding') ?? '7bit').trim().toLowerCase();
  const footerAllowed = mediaType === 'text/plain' && (encoding === '7bit' || encoding === '8bit');
  const asciiOnly = encoding === '7bit' || (charset !== 'utf-8' && charset !== 'utf8');
  const body = text.slice(headerEnd + 2 * eol.length);
  return { eol, footerAllowed, asciiOnly, endsWithEol: body.length === 0 || body.endsWith('\n') };
}

function substitute(template: string, address: string, list: string, token: string): string {
  return template.replace(/\{(address|list|unsubscribeToken)\}/g, (_, name: string) => (name === 'address' ? address : name === 'list' ? list : token));
}

const ASCII = /^[\x20-\x7e\t]*$/;

/** The copy parts of each recipient, in order. */
export default async function render(task: RenderTask): Promise<RenderedCopy[]> {
  const shape = messageShape(task.message);
  const headers = Object.entries(task.personalize.headers ?? {});
  const footer = task.personalize.footer;
  let signer: MessageSigner | undefined;
  let signerError: string | undefined;
  if (task.dkim !== undefined) {
    try {
      signer = new MessageSigner(task.message, task.dkim);
    } catch (error) {
      signerError = error instanceof Error ? error.message : String(error);
    }
  }
  const message = Buffer.from(task.message.buffer, task.message.byteOffset, task.message.byteLength);
  const copies: RenderedCopy[] = [];
  for (const [index, address] of task.recipients.entries()) copies.push(await renderCopy(address, task.unsubscribeTokens?.[index] ?? ''));
  return copies;

  async function renderCopy(address: string, token: string): Promise<RenderedCopy> {
    // Folded, and RFC 2047 encoded when not ASCII, in the message's own line ending.
    const head = Buffer.concat(headers.map(([name, value]) => formatField(name, substitute(value, address, task.list, token), shape.eol === '\n' ? '\n' : '\r\n').raw));
    let foot = '';
    if (footer !== undefined && footer !== '' && shape.footerAllowed) {
      const text = substitute(footer, address, task.list, token);
      if (!shape.asciiOnly || ASCII.test(text.replace(/\r?\n/g, ''))) {
        const lines = text.replace(/\r?\n$/, '').split(/\r?\n/);
        foot = `${shape.endsWithEol ? '' : shape.eol}${lines.join(shape.eol)}${shape.eol}`;
      }
    }
    const footBytes = Buffer.from(foot, 'utf8');
    if (signerError !== undefined) return { head, foot: footBytes, signError: signerError };
    if (signer === undefined) return { head, foot: footBytes };
    try {
      // ARC over the copy as it goes out (the DKIM signatures then go on top of the sealed copy, as on bulk copies).
      const sealedHead = task.arc === undefined ? head : Buffer.concat([await arcSet(Buffer.concat([head, message, footBytes]), task.arc), head]);
      return { head: Buffer.concat([signer!.signCopy(sealedHead, footBytes), sealedHead]), foot: footBytes };
    } catch (error) {
      return { head, foot: footBytes, signError: error instanceof Error ? error.message : String(error) };
    }
  }
}
