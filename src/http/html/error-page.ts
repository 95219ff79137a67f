/** An error answered as a page (a person with a browser), not as JSON: what went wrong and its SY_* code. */
import { errorBody } from '../errors.js';
import { html } from './html.js';
import { page } from './layout.js';

const TITLES: Record<number, string> = { 400: 'Bad request', 401: 'Please log in', 403: 'Not allowed', 404: 'Not found', 409: 'Conflict', 413: 'Too large', 422: 'Not accepted', 429: 'Too many requests', 503: 'Try again later' };

export function errorPage(status: number, error: unknown): string {
  const body = errorBody(error).error;
  const title = TITLES[status] ?? (status >= 500 ? 'Something went wrong' : 'Not possible');
  return page({ title, content: html`<div class="card"><p>${body.message}</p><p class="muted">Code ${body.code} · HTTP ${status}</p><p><a href="/">Back to the start page</a></p></div>` });
}
