/**
 * The posting chain: the rules a post to a list passes, in order (Mailman's
 * default-posting-chain). Each rule looks at the post and either decides
 * (accept, hold, reject, discard, with a reason) or passes it to the next;
 * a post no rule decided on is accepted. The first decision ends the chain.
 *
 *   loop                  discard our own post coming back (List-Id / X-BeenThere)
 *   max-hops              discard a post with more Received fields than maxHops (a mail loop)
 *   approved              accept on the moderator password (Approved: header or first body line)
 *   no-from               hold a post without exactly one From naming an address (From: <>)
 *   from-addresses        hold a From naming more than maxFromAddresses authors
 *   overlong-lines        hold a post with a line over 998 octets that cannot be folded or re-encoded
 *   emergency             hold everything while the list's emergency flag is set
 *   moderation            the member's or the list's action for this poster
 *   dmarc-mitigation      look up the From domain's DMARC policy; refuse per dmarcMitigateAction reject/discard
 *   unparseable           hold what mailparser could not read
 *   administrivia         hold (un)subscribe requests sent to the list
 *   size                  hold posts over maxMessageSize (and those too large to inspect)
 *   implicit-destination  hold posts that name the list in neither To nor Cc
 *   max-recipients        hold posts with more than maxNumRecipients To/Cc addresses
 *   suspicious-header     hold posts with a header matching suspiciousHeaders
 *   no-subject            hold (or accept, per noSubjectAction) posts without a subject
 *
 * The header checks come after approved: a post carrying the moderator
 * password is the moderators' decision, as a post approved with `held
 * approve` is. They come before moderation, so a member cannot send the list
 * a post without a From.
 *
 * Rules are pure but for the store lookups of moderation, the password
 * check of approved and the DNS lookup of dmarc-mitigation; they never touch queues (the runner acts on the
 * decision: actions.ts).
 */
import type { Logger } from 'pino';
import type { JsonObject } from '../../queues/index.js';
import type { TxtResolver } from '../../src/mail/dmarc-policy.js';
import type { RawMessage } from '../../src/mail/raw-message.js';
import type { MailingList, ModerationAction, Store } from '../../src/store/index.js';
import type { MessageSummary } from './parse-worker.js';
import { Registry } from '../../src/registry.js';
import { RunnerError } from '../errors.js';
import { RULES } from './rules/index.js';

export interface ChainContext {
  readonly list: MailingList;
  /** A rule may rewrite it (approved strips the password). */
  message: RawMessage;
  readonly summary: MessageSummary;
  /** The poster (addresses.ts posterAddress), or null when none could be read. */
  readonly sender: string | null;
  readonly metadata: JsonObject;
  readonly store: Store;
  readonly limits: ChainLimits;
  /** TXT lookups through the `[dns]` resolver (dmarc-mitigation); absent: no DNS lookups (runners built without the configuration). */
  readonly resolveTxt?: TxtResolver;
  readonly log?: Logger;
}

/**
 * Site-wide limits of the chain (`[runner.incoming.options]`). Site-wide, not
 * list settings: a mail loop and a From built to abuse clients are the same
 * whatever list they reach, as Postfix's hopcount_limit is one main.cf value.
 */
export interface ChainLimits {
  /** More Received fields than this: a loop (max-hops). */
  readonly maxHops: number;
  /** More From addresses than this: held (from-addresses). */
  readonly maxFromAddresses: number;
}

export interface Decision {
  action: ModerationAction;
  reason: string;
}

export interface Rule {
  readonly name: string;
  /** A decision ends the chain; undefined passes the post on. */
  check(ctx: ChainContext): Decision | undefined | Promise<Decision | undefined>;
}

export interface ChainDecision extends Decision {
  /** The rule that decided, or END_OF_CHAIN. */
  rule: string;
}

/** The pseudo-rule of a post that no rule decided on. */
export const END_OF_CHAIN = 'end-of-chain';

/** Today's posting chain, in order: the `default` chain. */
const DEFAULT_RULES = [
  'loop',
  'max-hops',
  'approved',
  'no-from',
  'from-addresses',
  'overlong-lines',
  'emergency',
  'moderation',
  'dmarc-mitigation',
  'unparseable',
  'administrivia',
  'size',
  'implicit-destination',
  'max-recipients',
  'suspicious-header',
  'no-subject',
] as const;

/**
 * What a moderator already approved (`switchyard held approve`) still passes
 * this: our own post coming back (or a post gone round a loop) is never sent
 * again, whoever approved it.
 * (A post the loop rule matches was discarded before it could be held, so
 * this never refuses a real approval.)
 */
const APPROVED_RULES = ['loop', 'max-hops'] as const;

/** The chain a list names in its postingChain setting unless it names another. */
export const DEFAULT_CHAIN = 'default';
/** The chain a post a moderator approved runs (the runner picks it, not the list). */
export const APPROVED_CHAIN_NAME = 'approved';

/**
 * The chains by name (src/registry.ts): a list's postingChain setting names
 * one, checked against this registry by `lists set`. A chain is an ordered
 * list of RULES (rules/index.ts).
 */
export const CHAINS = new Registry<readonly Rule[]>('chain')
  .register({
    name: DEFAULT_CHAIN,
    description: 'the posting chain every post runs unless its list names another: loop and header checks, moderation, size and destination checks',
    module: 'runners/incoming/chain.ts',
    implementation: Object.freeze(DEFAULT_RULES.map((name) => RULES.get(name))),
  })
  .register({
    name: APPROVED_CHAIN_NAME,
    description: 'only the loop checks (loop, max-hops): what a post a moderator approved still runs',
    module: 'runners/incoming/chain.ts',
    implementation: Object.freeze(APPROVED_RULES.map((name) => RULES.get(name))),
  })
  .freeze();

export const POSTING_CHAIN: readonly Rule[] = CHAINS.get(DEFAULT_CHAIN);
export const APPROVED_CHAIN: readonly Rule[] = CHAINS.get(APPROVED_CHAIN_NAME);

/**
 * A list names a chain the registry does not have (a value stored before
 * `lists set` checked it): a configuration error, not bad mail. The entry
 * goes to `shunt` unchanged; `queue requeue` retries it once the setting is
 * fixed.
 */
export class UnknownChainError extends RunnerError {
  constructor(
    readonly chain: string,
    readonly listId: string,
    readonly known: readonly string[],
  ) {
    super('SY_CHAIN_UNKNOWN', `list ${listId}: unknown chain ${JSON.stringify(chain)} in postingChain (known: ${known.join(', ')})`);
  }
}

/** The rules of the chain a list names (UnknownChainError when it names none the registry has). */
export function chainOf(name: string, listId: string): readonly Rule[] {
  if (!CHAINS.has(name)) throw new UnknownChainError(name, listId, CHAINS.names());
  return CHAINS.get(name);
}

export async function runChain(ctx: ChainContext, rules: readonly Rule[] = POSTING_CHAIN): Promise<ChainDecision> {
  for (const rule of rules) {
    const decision = await rule.check(ctx);
    if (decision !== undefined) return { rule: rule.name, ...decision };
  }
  return { rule: END_OF_CHAIN, action: 'accept', reason: 'no rule held the post' };
}
