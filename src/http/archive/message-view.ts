/**
 * A mail message shown on a page, safely, whatever it holds: the header
 * fields people read (From, To, Cc, Date, Subject) decoded and escaped; the
 * text part escaped in a <pre>; an HTML part NEVER rendered: shown only as
 * its escaped source, folded away, and turned into text when there is no
 * text part; attachments listed (name, type, size), never inlined or
 * linked. The held-post page of the web admin and the archive pages both
 * use it. Every value goes through html`` (escaping).
 */
import type { AddressObject } from 'mailparser';
import { html, type SafeHtml } from '../html/html.js';

export interface ParsedMessage {
  subject: string;
  from: string;
  to: string;
  cc: string;
  date: Date | null;
  messageId: string | null;
  inReplyTo: string | null;
  references: string[];
  text: string;
  /** The HTML part's source, when there is one (shown escaped, never rendered). */
  htmlSource: string | null;
  attachments: { filename: string; contentType: string; size: number }[];
}

function addresses(value: AddressObject | AddressObject[] | undefined): string {
  if (value === undefined) return '';
  return (Array.isArray(value) ? value : [value]).map((a) => a.text).join(', ');
}

/** The HTML part as plain text, for a message without a text part: tags dropped, the common entities decoded. */
function htmlToText(source: string): string {
  return source
    .replace(/<(script|style)[\s\S]*?<\/\1\s*>/gi, '')
    .replace(/<br\s*\/?>|<\/p\s*>|<\/div\s*>/gi, '\n')
    .replace(/<[^>]*>/g, '')
    .replace(/&nbsp;/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

const ids = (value: string | string[] | undefined): string[] => (value === undefined ? [] : Array.isArray(value) ? value : value.split(/\s+/).filter((v) => v !== ''));

// mailparser, loaded with the first archived message shown: the HTTP service carries it only once it is used.
let mailparserModule: Promise<typeof import('mailparser')> | undefined;

export async function parseMessage(raw: Buffer): Promise<ParsedMessage> {
  const { simpleParser } = await (mailparserModule ??= import('mailparser'));
  // skipHtmlToText: the HTML part is never converted by the parser (its output is not ours to trust); skipImageLinks: no cid: rewriting.
  const mail = await simpleParser(raw, { skipHtmlToText: true, skipImageLinks: true, skipTextLinks: true, skipTextToHtml: true });
  const htmlSource = typeof mail.html === 'string' ? mail.html : null;
  const text = mail.text ?? (htmlSource === null ? '' : htmlToText(htmlSource));
  return {
    subject: mail.subject ?? '',
    from: addresses(mail.from),
    to: addresses(mail.to),
    cc: addresses(mail.cc),
    date: mail.date ?? null,
    messageId: mail.messageId ?? null,
    inReplyTo: mail.inReplyTo ?? null,
    references: ids(mail.references),
    text,
    htmlSource,
    attachments: mail.attachments.map((a) => ({ filename: a.filename ?? '(no name)', contentType: a.contentType, size: a.size })),
  };
}

export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** The message's header summary, text, HTML source (folded) and attachments, all escaped. */
export function messageView(message: ParsedMessage, extra: SafeHtml | string = ''): SafeHtml {
  const row = (name: string, value: string) => (value === '' ? '' : html`<tr><th scope="row">${name}</th><td>${value}</td></tr>`);
  return html`<article class="message card">
<table class="headers">
${row('From', message.from)}${row('To', message.to)}${row('Cc', message.cc)}${row('Date', message.date === null ? '' : message.date.toUTCString())}${row('Subject', message.subject)}
</table>
${extra}
<pre class="message">${message.text === '' ? '(no text)' : message.text}</pre>
${message.htmlSource === null ? '' : html`<details><summary>HTML part (shown as source, never rendered)</summary><pre class="message">${message.htmlSource}</pre></details>`}
${
  message.attachments.length === 0
    ? ''
    : html`<h2>Attachments</h2><ul class="attachments">${message.attachments.map((a) => html`<li>${a.filename} <span class="muted">(${a.contentType}, ${formatSize(a.size)})</span></li>`)}</ul>`
}
</article>`;
}
