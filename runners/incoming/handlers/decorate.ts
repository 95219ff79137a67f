/**
 * decorate: the list's headerText and footerText added to every post, MIME-
 * aware (src/mail/decoration.ts says where and how: in a lone text/plain
 * part's own charset and transfer encoding, as parts of their own in a
 * multipart/mixed, or around anything else by wrapping; a signed part is
 * never edited). A structure that cannot be decorated safely (a multipart
 * without a boundary or close delimiter) is delivered undecorated, logged.
 *
 * `{list}`, `{listName}`, `{domain}`, `{displayName}` and `{description}` in
 * the texts become the list's values. `{address}` is left for the outgoing
 * runner's per-recipient footer (out entry `personalize`).
 */
import type { MailingList } from '../../../src/store/index.js';
import { decorate as decorateMessage } from '../../../src/mail/decoration.js';
import type { PipelineContext } from '../pipeline.js';

export function interpolate(text: string, list: MailingList): string {
  const values: Record<string, string> = {
    list: list.address,
    listName: list.name,
    domain: list.domain,
    displayName: list.displayName,
    description: list.description,
  };
  return text.replace(/\{(\w+)\}/g, (whole, key: string) => (Object.hasOwn(values, key) ? values[key]! : whole));
}

export function decorate(ctx: PipelineContext): void {
  const { headerText, footerText } = ctx.list.settings;
  if (headerText === '' && footerText === '') return;
  const result = decorateMessage(ctx.message, { header: interpolate(headerText, ctx.list), footer: interpolate(footerText, ctx.list) });
  if (result.outcome === 'skipped') {
    ctx.log.warn({ list: ctx.list.address, reason: result.reason }, 'decorate: message left undecorated');
    return;
  }
  if (result.outcome === 'wrapped') ctx.log.debug({ list: ctx.list.address, reason: result.reason }, 'decorate: wrapped in multipart/mixed');
  ctx.message = result.message;
}
