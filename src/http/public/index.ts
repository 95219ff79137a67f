/**
 * The public pages (no login): the lists of the site, each list's page with
 * its subscribe and unsubscribe forms, the confirmation links and the RFC
 * 8058 one-click unsubscribe URL of every post. One page module (pages.ts).
 * Tokens are checked against the site secret as its file holds it now, so
 * a `switchyard secret rotate` takes effect without a restart.
 */
import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../routes/deps.js';
import { SiteSecretsFile } from '../site-secret-file.js';
import { registerListPages } from './list-pages.js';
import { registerOneClickPage } from './one-click-page.js';

export async function registerPublicPages(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const secrets = new SiteSecretsFile(deps.web.home);
  await registerOneClickPage(app, deps, secrets);
  await registerListPages(app, deps, secrets);
}
