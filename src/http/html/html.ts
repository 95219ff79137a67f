/**
 * HTML built by a tagged template that escapes every interpolated value:
 * `html\`<p>${subject}</p>\`` is safe whatever `subject` holds (a held post's
 * Subject, From, body). Only a SafeHtml (another html`` result, or raw() of
 * a constant) is inserted as it is, so markup from mail can never reach a
 * page unescaped: the one rule behind every page of the web admin and the
 * public pages.
 */

/** A fragment of HTML that is safe to insert as it is. */
export class SafeHtml {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text as HTML text or attribute value (quotes escaped too, so it is safe inside either kind of quoted attribute). */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => ESCAPES[char] ?? char);
}

/** What a template may interpolate: text (escaped), SafeHtml (inserted), lists of either (joined), or nothing. */
export type HtmlValue = string | number | bigint | SafeHtml | null | undefined | false | readonly HtmlValue[];

function render(value: HtmlValue): string {
  if (value === null || value === undefined || value === false) return '';
  if (value instanceof SafeHtml) return value.text;
  if (Array.isArray(value)) return (value as readonly HtmlValue[]).map(render).join('');
  return escapeHtml(String(value));
}

export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): SafeHtml {
  let out = strings[0] ?? '';
  for (let index = 0; index < values.length; index++) out += render(values[index] as HtmlValue) + (strings[index + 1] ?? '');
  return new SafeHtml(out);
}

/** Markup written in this code base (never text that came from outside) inserted as it is. */
export function raw(trusted: string): SafeHtml {
  return new SafeHtml(trusted);
}
