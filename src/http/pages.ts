/**
 * Every HTML page of the HTTP service, registered after registerWeb()
 * (web.ts): the public list pages and the web admin. Each page module
 * registers its own fastify routes and calls the application functions
 * (src/app/), as the REST API's routes do.
 */
import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from './routes/deps.js';
import { registerPublicPages } from './public/index.js';
import { registerAdminPages } from './admin/index.js';
import { registerArchivePages } from './archive/archive-pages.js';

export type PageModule = (app: FastifyInstance, deps: ApiDeps) => void | Promise<void>;

const PAGE_MODULES: readonly PageModule[] = [registerPublicPages, registerAdminPages, registerArchivePages];

export async function registerPages(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  for (const register of PAGE_MODULES) await register(app, deps);
}
