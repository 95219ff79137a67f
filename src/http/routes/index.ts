/** Every route of the REST API, in the order of the OpenAPI document. */
import type { RouteSpec } from '../route.js';
import { bounceRoutes } from './bounces.js';
import type { ApiDeps } from './deps.js';
import { heldRoutes } from './held.js';
import { listAdminRoutes } from './list-admins.js';
import { listRoutes } from './lists.js';
import { memberImportRoutes } from './member-import.js';
import { memberRoutes } from './members.js';
import { requestRoutes } from './requests.js';
import { queueRoutes } from './queues.js';
import { statusRoutes } from './status.js';
import { systemRoutes } from './system.js';

export type { ApiDeps } from './deps.js';

export function apiRoutes(deps: ApiDeps): RouteSpec[] {
  return [
    ...systemRoutes(deps),
    ...listRoutes(deps),
    ...memberRoutes(deps),
    ...memberImportRoutes(deps),
    ...listAdminRoutes(deps),
    ...heldRoutes(deps),
    ...requestRoutes(deps),
    ...bounceRoutes(deps),
    ...statusRoutes(deps),
    ...queueRoutes(deps),
  ];
}
