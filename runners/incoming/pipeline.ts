/**
 * The posting pipeline: the handlers that turn a post the chain accepted into
 * the message members receive (cleansed, prefixed, decorated, ...), run in the
 * order a list names in its `postingPipeline` setting. Handlers rewrite
 * ctx.message (a RawMessage, so everything they do not touch stays byte for
 * byte); the last one, to-outgoing, says where the result goes.
 *
 * Default order (list setting postingPipeline): cleanse, subject-prefix,
 * list-headers, reply-to, to-archive, dmarc, decorate, to-outgoing. The
 * archive copy is taken before DMARC munging and decoration, as Mailman does.
 *
 * Two steps run whatever the list names, because lists store their whole
 * pipeline (a handler added to the default would never reach an existing
 * list) and because mail without them is refused or mishandled downstream:
 * message-id first (a post without a Message-ID gets one, so the archive
 * copy and the delivered copy carry it) and line-length last (no line over
 * 998 octets leaves, whatever decoration added). Both are idempotent, so a
 * list naming them too does no harm.
 *
 * Bad mail has a defined outcome in every handler: a part that cannot be
 * edited safely (broken MIME, unknown charset or transfer encoding) is left
 * as it is and logged; only a handler's own trouble (a busy store) throws.
 */
import type { Logger } from 'pino';
import type { JsonObject } from '../../queues/index.js';
import type { TxtResolver } from '../../src/mail/dmarc-policy.js';
import type { RawMessage } from '../../src/mail/raw-message.js';
import type { MailingList, Store } from '../../src/store/index.js';
import { Registry } from '../../src/registry.js';
import { RunnerError } from '../errors.js';
import { cleanse } from './handlers/cleanse.js';
import { decorate } from './handlers/decorate.js';
import { dmarc } from './handlers/dmarc.js';
import { lineLength } from './handlers/line-length.js';
import { listHeaders } from './handlers/list-headers.js';
import { messageId } from './handlers/message-id.js';
import { replyTo } from './handlers/reply-to.js';
import { subjectPrefix } from './handlers/subject-prefix.js';
import { toArchive } from './handlers/to-archive.js';
import { toOutgoing } from './handlers/to-outgoing.js';

export interface PipelineContext {
  readonly list: MailingList;
  /** Handlers replace it with the rewritten message. */
  message: RawMessage;
  /** The entry's metadata (ingress fields, chain decisions); handlers may add keys. */
  metadata: JsonObject;
  readonly store: Store;
  readonly log: Logger;
  readonly now: () => number;
  /** Durably add a new entry to another queue. */
  enqueue(queue: string, message: Buffer, metadata: JsonObject): Promise<void>;
  /**
   * Start a durable enqueue that the handlers need not wait for (to-archive's
   * copy): it is written while the pipeline goes on, and the runner awaits it
   * before the entry leaves `in` (forwarded or finished), so nothing leaves
   * before its side entries are durable. Not given (tests, benchmarks): the
   * handler awaits `enqueue`.
   */
  readonly enqueueBeside?: (queue: string, message: Buffer, metadata: JsonObject) => void;
  /**
   * The poster (runners/incoming/addresses.ts posterAddress) as the chain saw
   * it, before DMARC munging rewrote From; null: unknown. Not given (tests,
   * benchmarks): to-outgoing reads it from the message.
   */
  readonly sender?: string | null;
  /** TXT lookups through the `[dns]` resolver (the dmarc handler, for a post the chain did not look up); not given: none. */
  readonly resolveTxt?: TxtResolver;
  /** The To and Cc addresses of the post as it arrived; not given: read from the message. */
  readonly explicitRecipients?: readonly string[];
  /** The HTTP service's public URL (src/app/web-links.ts) when it runs: list-headers and to-outgoing then give each copy its one-click unsubscribe link (src/app/one-click.ts). */
  readonly webBaseUrl?: string;
  /** Set by to-outgoing: the post goes to the members, so the runner adds it to the list's digest too (src/app/digests.ts). */
  toDigest?: boolean;
  /** Set by to-outgoing: the runner then forwards THIS entry (rewritten message + these metadata) to `out` atomically. */
  outgoing?: { metadata: JsonObject };
}

export type Handler = (ctx: PipelineContext) => void | Promise<void>;

/**
 * A list names a handler the pipeline does not have: a configuration error,
 * not bad mail. Thrown before any handler runs, so the entry goes to `shunt`
 * unchanged and `queue requeue` retries it once the setting is fixed.
 */
export class UnknownHandlerError extends RunnerError {
  constructor(
    readonly handler: string,
    readonly listId: string,
    readonly known: readonly string[],
  ) {
    super('SY_PIPELINE_UNKNOWN_HANDLER', `list ${listId}: unknown pipeline handler ${JSON.stringify(handler)} in postingPipeline (known: ${known.join(', ')})`);
  }
}

function handler(name: string, implementation: Handler, description: string) {
  return { name, description, module: `runners/incoming/handlers/${name}.ts`, implementation };
}

/**
 * The handlers by the names a list's postingPipeline uses (src/registry.ts):
 * `lists set L postingPipeline` is checked against it.
 */
export const HANDLER_REGISTRY = new Registry<Handler>('pipeline handler')
  .register(handler('cleanse', cleanse, 'remove the moderator password, priority flags and read-receipt requests'))
  .register(handler('subject-prefix', subjectPrefix, 'put the list\'s subjectPrefix in front of the Subject, once'))
  .register(handler('list-headers', listHeaders, 'set List-Id, List-Post, List-Help, List-(Un)Subscribe, List-Archive and X-BeenThere'))
  .register(handler('reply-to', replyTo, 'Reply-To munging per replyGoesToList'))
  .register(handler('dmarc', dmarc, 'munge From or wrap the post for senders whose DMARC policy is reject or quarantine'))
  .register(handler('decorate', decorate, "add the list's headerText and footerText, MIME-aware"))
  .register(handler('to-archive', toArchive, 'enqueue a copy of the post for the archive runner (when the list archives)'))
  .register(handler('to-outgoing', toOutgoing, 'address the post to the enabled members and send it on to `out`'))
  .register(handler('message-id', messageId, 'give a post without a Message-ID one in the list\'s domain (always run first)'))
  .register(handler('line-length', lineLength, 'keep every line within 998 octets by folding or re-encoding (always run last)'))
  .freeze();

/** The handlers by name, as a plain record (what tests and benchmarks call one by one). */
export const HANDLERS: Readonly<Record<string, Handler>> = Object.freeze(
  Object.fromEntries(HANDLER_REGISTRY.entries().map((entry) => [entry.name, entry.implementation])),
);

/** Run before the handlers a list names, and after them (see the module comment). */
export const FIRST_HANDLERS: readonly Handler[] = [messageId];
export const LAST_HANDLERS: readonly Handler[] = [lineLength];

/** Runs FIRST_HANDLERS, the handlers named in order, then LAST_HANDLERS (unknown name -> UnknownHandlerError before any handler runs). */
export async function runPipeline(ctx: PipelineContext, names: readonly string[]): Promise<void> {
  const handlers = names.map((name) => {
    if (!HANDLER_REGISTRY.has(name)) throw new UnknownHandlerError(name, ctx.list.address, HANDLER_REGISTRY.names());
    return HANDLER_REGISTRY.get(name);
  });
  for (const handler of [...FIRST_HANDLERS, ...handlers, ...LAST_HANDLERS]) await handler(ctx);
}
