/**
 * The web admin (a PageModule, pages.ts): login by mailed link or API
 * token, the lists of the person logged in, and per list its overview, held
 * posts, membership requests, members, settings and bounces; for site
 * administrators the runners and queues. Server-rendered HTML forms, no
 * script (the Content-Security-Policy of web.ts forbids it), but for the
 * member import's progress: one script file of ours, on that page alone,
 * and the form works without it.
 */
import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../routes/deps.js';
import { registerAdminRoutes } from './admin-route.js';
import { heldPages } from './held-pages.js';
import { listPages } from './list-pages.js';
import { registerLoginPages } from './login-pages.js';
import { memberImportPages, registerMemberImportScript } from './member-import-page.js';
import { memberPages } from './member-pages.js';
import { settingsPages } from './settings-pages.js';

export const DEFAULT_LOGIN_LINK_LIFETIME_MS = 15 * 60_000;
export const DEFAULT_SESSION_LIFETIME_MS = 12 * 3600_000;

export function registerAdminPages(app: FastifyInstance, deps: ApiDeps): void {
  registerLoginPages(app, deps, {
    linkMs: deps.web.loginLinkLifetimeMs ?? DEFAULT_LOGIN_LINK_LIFETIME_MS,
    sessionMs: deps.web.sessionLifetimeMs ?? DEFAULT_SESSION_LIFETIME_MS,
  });
  registerAdminRoutes(app, deps, [...listPages(deps), ...heldPages(deps), ...memberPages(deps), ...memberImportPages(deps), ...settingsPages(deps)]);
  registerMemberImportScript(app);
}
