/**
 * The frame of every web page: the document head (the stylesheet; no
 * script), a site header with navigation and who is logged in, a flash
 * message, and the page's own content. Pages build their content with
 * html`` (html.ts) and hand it here.
 */
import { html, type SafeHtml } from './html.js';
import { STYLESHEET_PATH } from './stylesheet.js';

export interface NavLink {
  href: string;
  label: string;
}

export interface PageOptions {
  /** The page's title and its one h1. */
  title: string;
  content: SafeHtml;
  /** Links in the site header. */
  nav?: readonly NavLink[];
  /** Who is logged in, shown in the header; nothing on public pages. */
  who?: string;
  flash?: { kind: 'ok' | 'error'; text: string };
  /** Seconds after which the browser reloads the page (the live status page); no script needed. */
  refreshSeconds?: number;
}

export function page(options: PageOptions): string {
  const nav = options.nav ?? [];
  return `<!doctype html>\n${html`<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
${options.refreshSeconds === undefined ? '' : html`<meta http-equiv="refresh" content="${options.refreshSeconds}">`}
<title>${options.title} · switchyard</title>
<link rel="stylesheet" href="${STYLESHEET_PATH}">
</head>
<body>
<header class="site">
<a class="brand" href="/">switchyard</a>
${nav.length === 0 ? '' : html`<nav aria-label="main">${nav.map((link) => html`<a href="${link.href}">${link.label}</a>`)}</nav>`}
${options.who === undefined ? '' : html`<span class="who">${options.who}</span>`}
</header>
<main>
<h1>${options.title}</h1>
${options.flash === undefined ? '' : html`<p class="flash ${options.flash.kind}" role="status">${options.flash.text}</p>`}
${options.content}
</main>
<footer class="site">switchyard</footer>
</body>
</html>`.text}\n`;
}
