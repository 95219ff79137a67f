/** What the API's routes are given: the application context and the few things of the service around it. */
import type { Spool } from '../../../queues/index.js';
import type { AppContext } from '../../app/context.js';
import type { StatusReport } from '../../master/protocol.js';
import type { WebDeps } from '../web.js';

export interface ApiDeps {
  app: AppContext;
  /** switchyard's version (package.json). */
  version: string;
  /** The master's `status` report (over master.sock). */
  masterStatus: () => Promise<StatusReport>;
  /** The home's spool: queue shape for the metrics, and requeue (queues.ts). */
  spool: Spool;
  /** `http.importBodyLimit`: the member import's body limit in bytes (default 64 MiB). */
  importBodyLimit?: number;
  /** What the HTML pages need (secrets, public URL). */
  web: WebDeps;
}
