/**
 * list-headers: the list's own header fields, replacing any a sender or an
 * upstream list put there:
 *
 *   List-Id                RFC 2919: "Display Name" <name.domain>
 *   List-Post              RFC 2369: <mailto:name@domain> (unless includeListPostHeader is off)
 *   List-Help              <mailto:name-request@domain?subject=help>[, <listHelpUrl>]
 *   List-Subscribe         <mailto:name-join@domain>[, <listSubscribeUrl>]
 *   List-Unsubscribe       <mailto:name-leave@domain>[, <listUnsubscribeUrl>]
 *   List-Unsubscribe-Post  RFC 8058 `List-Unsubscribe=One-Click`, only with an https listUnsubscribeUrl
 *   List-Archive           <archiveUrl>, when set
 *   Archived-At            RFC 5064 <archiveUrl/m/ID>, when the list archives, archiveUrl is an
 *                          http(s) URL (the web archive, https://HOST/archives/LIST/) and the post
 *                          has a Message-ID: ID is the archive's id of the post (src/mail/archive-id.ts)
 *   X-BeenThere            name@domain (added, not replaced: nested lists each add theirs, for loop detection)
 *   Precedence             list
 *
 * RFC 8058 also asks that the DKIM signature of the outgoing message cover
 * List-Unsubscribe and List-Unsubscribe-Post; signing is the MTA's job.
 */
import { oneLine } from '../../../src/mail/header-field.js';
import type { HeaderField } from '../../../src/mail/raw-message.js';
import { archiveMessageId } from '../../../src/mail/archive-id.js';
import type { PipelineContext } from '../pipeline.js';

const REPLACED = new Set([
  'list-id',
  'list-post',
  'list-help',
  'list-subscribe',
  'list-unsubscribe',
  'list-unsubscribe-post',
  'list-archive',
  'list-owner',
  'precedence',
]);

/** A display name as an RFC 5322 phrase: atoms as they are, else quoted (the field writer encodes non-ASCII). */
function phrase(name: string): string {
  // A display name stored before settings were checked may hold a line break: one line, never a new field.
  const flat = oneLine(name).trim();
  if (/^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~ ]*$/.test(flat)) return flat;
  return `"${flat.replace(/(["\\])/g, '\\$1')}"`;
}

/** A URL setting as it may go between angle brackets; '' (left out) when an old stored value would not be safe there. */
function usableUrl(url: string): string {
  return /[\s<>"\0-\x1f\x7f]/.test(url) ? '' : url;
}

function entries(mailto: string, url: string): string {
  return url === '' ? `<${mailto}>` : `<${mailto}>, <${url}>`;
}

export function listHeaders(ctx: PipelineContext): void {
  const { list } = ctx;
  const settings = { ...list.settings };
  for (const key of ['listHelpUrl', 'listSubscribeUrl', 'listUnsubscribeUrl', 'archiveUrl'] as const) settings[key] = usableUrl(settings[key]);
  const message = ctx.message;
  const added: [string, string][] = [];
  const name = phrase(list.displayName);
  added.push(['List-Id', name === '' ? `<${list.name}.${list.domain}>` : `${name} <${list.name}.${list.domain}>`]);
  if (settings.includeListPostHeader) added.push(['List-Post', `<mailto:${list.address}>`]);
  added.push(['List-Help', entries(`mailto:${list.name}-request@${list.domain}?subject=help`, settings.listHelpUrl)]);
  added.push(['List-Subscribe', entries(`mailto:${list.name}-join@${list.domain}`, settings.listSubscribeUrl)]);
  added.push(['List-Unsubscribe', entries(`mailto:${list.name}-leave@${list.domain}`, settings.listUnsubscribeUrl)]);
  if (/^https:\/\//i.test(settings.listUnsubscribeUrl)) added.push(['List-Unsubscribe-Post', 'List-Unsubscribe=One-Click']);
  if (settings.archiveUrl !== '') added.push(['List-Archive', `<${settings.archiveUrl}>`]);
  const messageId = message.get('message-id');
  const archivedAt = settings.archive && /^https?:\/\//i.test(settings.archiveUrl) && messageId !== undefined && messageId !== '' ? `${settings.archiveUrl.replace(/\/?$/, '/')}m/${archiveMessageId(messageId)}` : null;
  if (archivedAt !== null) added.push(['Archived-At', `<${archivedAt}>`]);
  added.push(['X-BeenThere', list.address]);
  added.push(['Precedence', 'list']);
  // A sender's Archived-At goes only when ours replaces it (an upstream list's is kept otherwise, as RFC 5064 allows several).
  const kept: HeaderField[] = message.fields.filter((field) => !REPLACED.has(field.key) && !(archivedAt !== null && field.key === 'archived-at'));
  ctx.message = message.withFields([...kept, ...added.map(([field, value]) => message.format(field, value))]);
}
