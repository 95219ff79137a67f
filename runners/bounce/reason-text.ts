/**
 * From the words a bouncing MTA gave about one recipient (a DSN
 * Diagnostic-Code, the remote server's reply quoted in prose) to the facts
 * the list needs: the enhanced status code (RFC 3463), the SMTP reply code,
 * and a reason from the vocabulary of src/bounce/reasons.ts.
 *
 * The reason comes from the text first, because MTAs put a generic code on
 * specific trouble (`550 5.7.1` for a blocklisted IP, a full mailbox and a
 * spam verdict alike); the status code's subject and detail (RFC 3463
 * section 3) decide when the text says nothing we know. The phrase table is
 * ordered: earlier rows win, so the specific ("mailbox full", "blocklist")
 * comes before the general ("rejected", "policy").
 */
import type { BounceReason } from '../../src/bounce/reasons.js';

export interface Diagnosis {
  reason: BounceReason;
  /** Enhanced status code, e.g. `5.1.1`. */
  status?: string;
  /** SMTP reply code, e.g. `550`. */
  reply?: string;
}

/** The phrase table, in order (exported for tests). */
export const PHRASES: ReadonlyArray<readonly [BounceReason, RegExp]> = [
  ['securityerror', /\bvirus|malware|infected|\b(?:spf|dkim|dmarc)\b.{0,40}(?:fail|check|reject|policy|alignment|authenticat)|(?:fail|reject)\w*.{0,30}\b(?:spf|dkim|dmarc)\b|authentication (?:is )?required|sender authentication|not authenticated|must (?:issue a )?starttls|tls (?:is )?required|encryption (?:is )?required|unauthenticated (?:email|mail)/i],
  ['mailboxfull', /mail ?(?:box|folder|drop)\S* (?:is |was )?(?:full|over ?quota)|number of messages in (?:the )?recipient'?s? mailbox exceeded|over (?:the )?(?:disk )?quota|quota (?:exceeded|exceed|full)|exceeded (?:the )?(?:storage|(?:disk|mailbox) ?quota|.{0,20}quota)|exceeds? (?:the )?(?:local |mailbox |storage )?(?:limit|quota)|insufficient (?:disk )?space|mailbox size limit|user(?:'s)? (?:mail)?(?:box|folder) is full|too many messages in (?:the |this )?mailbox|recipient'?s? mailbox (?:is )?full|full mailbox|メールボックスが一杯|容量/i],
  ['mesgtoobig', /message (?:is )?too (?:big|large)|(?:message|mail) size (?:exceeds|too|limit)|size (?:exceeds|limit exceeded)|exceeds (?:the )?(?:maximum|max)(?: message)? size|message length exceeds|too large for|larger than the (?:maximum|allowed)/i],
  ['hasmoved', /\bhas moved\b|address (?:has )?changed|no longer valid.{0,40}(?:new address|moved)|user has moved/i],
  ['notaccept', /does not accept (?:any )?mail|accepts no mail|not accepting (?:any )?mail|null mx|no mx (?:record )?for|domain (?:does|will) not receive mail/i],
  ['hostunknown', /host (?:or domain name )?(?:not found|unknown)|unknown host|domain (?:name )?(?:not found|does not exist|doesn't exist)|no such domain|name service error|host not found|unrouteable mail domain|unroutable mail domain|nxdomain|hostname not found|domain (?:is )?(?:unknown|invalid)|no (?:such )?(?:host|domain) (?:known|found)|unresolvable (?:address|domain)|domain lookup failed|non-?existent domain|illegal host\/domain/i],
  ['suspend', /(?:account|mailbox|address|user) (?:has been |is |was )?(?:temporarily )?(?:disabled|suspended|discontinued|inactive|deactivated|locked|blocked by (?:the )?administrator|expired|frozen|closed)|not (?:an )?active (?:account|mailbox|user)|inactive (?:account|user|mailbox)|user (?:account )?(?:suspended|disabled)|suspended (?:account|mailbox)|mailbox (?:is )?unavailable.{0,20}suspended/i],
  ['userunknown', /user (?:is )?(?:unknown|not found|does not exist|doesn't exist)|unknown (?:user|recipient|local[- ]part|mailbox|address)|no such (?:user|mailbox|recipient|account|address|person)|(?:recipient|mailbox|address|user|account) (?:\S+ )?(?:does not exist|doesn't exist|not exist|is unknown|unknown)|doesn't have an? .{1,40} account|not listed in (?:the )?(?:domino )?directory|invalid (?:recipient|mailbox|address|user)|recipient (?:address )?rejected:? (?:user unknown|undeliverable|unknown|invalid|address)|mailbox (?:not found|unavailable|does not exist|name not allowed)|(?:address|recipient|user|mailbox) not found|no mailbox (?:here|by that name)|unrouteable address|not a valid (?:mailbox|user|recipient)|couldn'?t be found|no account by that name|bad destination mailbox|address (?:is )?(?:invalid|unknown)|recipient not found|unknown or illegal alias|this account does not exist|email account that you tried to reach does not exist|no valid recipients|user doesn't exist|undeliverable address|addressee unknown|destination (?:address|mailbox) (?:is )?(?:invalid|unknown)|存在しない|(?:adresse|konto|postfach|empfänger)\S* (?:ist )?(?:unbekannt|existiert nicht)|(?:ist|sind) .{0,60}nicht vorhanden|utilisateur inconnu|destinataire inconnu|(?:adresse|compte|boîte) .{0,40}n'existe pas|(?:usuario|destinatario|cuenta) .{0,40}(?:desconocido|no existe)|la cuenta de correo electrónico no existe|(?:utente|destinatario) sconosciuto|(?:account|indirizzo) .{0,40}non esiste|(?:usuário|utilizador|destinatário) desconhecido|(?:conta|endereço) .{0,40}não existe|(?:gebruiker|geadresseerde|ontvanger) (?:is )?onbekend|(?:account|adres) .{0,40}bestaat niet/i],
  ['toomanyconn', /too many (?:connections|concurrent|simultaneous|sessions|recipients|messages from|emails from|smtp sessions)|connection rate|rate limit|throttl|try again in a few minutes|exceeded (?:the )?(?:max|maximum) (?:number of )?(?:connections|messages per)|sending (?:rate|limit)/i],
  ['blocked', /blacklist|black list|blocklist|block list|blocked using|\bspamhaus|\bspamcop|\bsorbs\b|\b(?:rbl|dnsbl|rbl-plus)\b|barracudacentral|(?:ip|address|host|client|connection|server|domain) (?:\S+ )?(?:is |has been |was )?(?:blocked|blacklisted|banned|listed|refused|rejected)|(?:poor|bad|low) reputation|reputation|client host (?:\S+ )?rejected|(?:access|connection) (?:denied|refused)|not allowed to (?:send|connect|relay)|rejected due to .{0,30}(?:reputation|blocked|listing)|reverse (?:dns|lookup)|no ptr|ptr record|rdns|helo (?:command )?rejected|too many hops|your (?:ip|server|network)/i],
  ['spamdetected', /\bspam\b|junk ?mail|bulk ?mail|unsolicited|\buce\b|content (?:filter|rejected)|message (?:content )?(?:rejected|refused) as|considered (?:as )?spam|looks like spam|message is classified|detected as|suspicious/i],
  ['expired', /(?:time ?out|timed out).{0,40}(?:queue|retry|deliver)|too long in (?:the )?queue|been in the queue too long|in the queue (?:for )?too long|message expired|expired|retry (?:time(?:out)?|limit) (?:exceeded|reached)|could not be delivered (?:within|for) \d+|giving up|gave up|delivery time ?out|delivery attempts? (?:will )?(?:stop|has stopped|failed for)|maximum (?:time|retries)|delivery (?:has )?(?:failed|been delayed) for \d+/i],
  ['networkerror', /connection (?:refused|reset|timed out|closed|lost|dropped)|lost connection|network (?:is )?unreachable|no route to host|could not connect|unable to connect|can'?t connect|couldn'?t connect|connect(?:ion)? to .{1,80} failed|mail (?:for .{1,60} )?loops back|loops back to myself|mail loop|routing loop|loop detected|dns (?:lookup |resolution )?(?:failure|error|timeout)|temporary (?:dns|lookup) failure|mx (?:lookup|record).{0,20}(?:fail|error)|no answer from|host unreachable|unreachable|malformed or unexpected name server reply|unable to deliver.{0,20}routing|invalid mx/i],
  ['filtered', /domain filter|(?:rejected|refused|blocked) by (?:the )?(?:recipient|user|addressee)|recipient (?:has |is )?(?:refused|rejected|blocked|not accepting)|does not (?:wish|want) to receive|(?:sender|message|mail) (?:is )?(?:not )?(?:allowed|authorized|accepted) by (?:the )?recipient|filter(?:ed|ing)?\b|not authorized to receive|receiving mail is not permitted|receipt refused|recipient rejected|rejected by (?:the )?(?:recipient|user)|このメールは受信拒否|拒否/i],
  ['rejected', /not a member of this (?:mailing )?list|NOT MEMBER article|only members (?:can|may) post|sender (?:address )?(?:rejected|refused|denied|blocked|not (?:allowed|accepted))|(?:envelope )?sender.{0,40}(?:rejected|refused|denied|is invalid|verify failed)|sender verif\w* fail|domain of sender address|sender domain|(?:mail from|return path).{0,40}(?:rejected|refused|invalid)|relay(?:ing)? (?:access )?(?:denied|not permitted|prohibited|not allowed)|not permitted to relay|unable to relay|we do not relay|relay not permitted/i],
  ['policyviolation', /polic(?:y|ies)|prohibited|not permitted|violat|not allowed|forbidden|\bbanned\b/i],
  ['systemerror', /system error|internal (?:server )?error|local error|server error|temporary (?:failure|error|local problem)|service (?:is )?(?:unavailable|not available)|system (?:is )?(?:busy|not available|unavailable|overloaded|full)|insufficient system storage|resources? (?:temporarily )?unavailable|try again later|out of memory|configuration error|mailer error|mail system error|unexpected error|processing error|i\/o error/i],
];

/** Status code -> reason, when the text says nothing known (RFC 3463 subjects and details, RFC 7505, RFC 7372). */
function reasonOfStatus(status: string): BounceReason {
  const [, subject, detail] = status.split('.').map(Number) as [number, number, number];
  switch (subject) {
    case 1:
      if (detail === 2) return 'hostunknown';
      if (detail === 6) return 'hasmoved';
      if (detail === 10) return 'notaccept';
      if (detail === 1 || detail === 3) return 'userunknown';
      if (detail === 7 || detail === 8) return 'rejected';
      return 'undefined';
    case 2:
      if (detail === 1) return 'suspend';
      if (detail === 2) return 'mailboxfull';
      if (detail === 3) return 'mesgtoobig';
      return 'systemerror';
    case 3:
      return detail === 4 ? 'mesgtoobig' : 'systemerror';
    case 4:
      if (detail === 7) return 'expired';
      if (detail === 4) return 'hostunknown';
      return 'networkerror';
    case 5:
      return 'systemerror';
    case 6:
      return 'undefined';
    case 7:
      if (detail === 1) return 'blocked';
      if (detail === 13) return 'suspend';
      if (detail === 0 || (detail >= 5 && detail <= 9) || (detail >= 20 && detail <= 27)) return 'securityerror';
      return 'policyviolation';
    default:
      return 'undefined';
  }
}

const STATUS = /(?:^|[^\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.]\d)/;
const REPLY = /(?:^|[^\d.#-])([245]\d\d)(?:[ -]|$)(?![\d.]*\d{3,})/m;

/** The enhanced status and SMTP reply codes in `text`, if any. */
export function codesIn(text: string): { status?: string; reply?: string } {
  const found: { status?: string; reply?: string } = {};
  const status = STATUS.exec(text);
  if (status) found.status = `${status[1]}.${status[2]}.${status[3]}`;
  // A reply code: at a line's start, after "said:" / "smtp;" and the like: three digits alone.
  const reply = /(?:^|;|:|\()\s*([245][0-5]\d)(?=[ -]|$)/m.exec(text) ?? (status ? null : REPLY.exec(text));
  if (reply) found.reply = reply[1] as string;
  return found;
}

/** The reason `text` gives, from its phrases alone; undefined when none is known. */
export function reasonOfText(text: string): BounceReason | undefined {
  for (const [reason, pattern] of PHRASES) if (pattern.test(text)) return reason;
  return undefined;
}

/** Refused at connection or greeting: the list's host; at MAIL FROM: its sender (when the words say nothing more). */
function reasonOfCommand(text: string): BounceReason | undefined {
  if (/after (?:the )?initial connection|(?:in reply to|after) (?:the )?(?:HELO|EHLO)|greeting|banner|connected to .{1,60} but greeting failed|but my name was rejected/i.test(text)) return 'blocked';
  if (/(?:in reply to|after) (?:the )?MAIL FROM|sender was rejected/i.test(text)) return 'rejected';
  return undefined;
}

/** Status, reply and reason of one recipient's diagnostic text; `status` from a DSN field takes precedence over the text's. */
export function diagnose(text: string, dsnStatus?: string): Diagnosis {
  const codes = codesIn(text);
  const status = dsnStatus !== undefined && !/^[245]\.0\.0$/.test(dsnStatus) ? dsnStatus : (codes.status ?? dsnStatus);
  const fromText = reasonOfText(text) ?? reasonOfCommand(text);
  const reason = fromText ?? (status === undefined ? 'undefined' : reasonOfStatus(status));
  return { reason, ...(status === undefined ? {} : { status }), ...(codes.reply === undefined ? {} : { reply: codes.reply }) };
}
