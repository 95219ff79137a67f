/**
 * The generic failure phrasings of MTAs and gateways with no detector of
 * their own (see patterns.ts). Runs after every MTA-specific detector and
 * after the auto-reply check, so only a message nothing more specific
 * recognised, and that is not an auto-reply, gets here. Every address found
 * is permanent.
 */
import type { BounceMessage } from '../bounce-message.js';
import { failures, type Detector } from '../detector.js';
import { LISTED_ADDRESS, matchPatterns, type Pattern } from './patterns.js';

const ADDR_IN_ANGLES = /<([^<>\s]+@[^<>\s]+)>/;

export const FAILURE_PATTERNS: readonly Pattern[] = [
  { source: 'Gmail (before 2015)', start: /Delivery to the following recipients? failed permanently:/i, end: /^\s*(?:Technical details of permanent failure|-{5}\s*Original message)/i },
  { source: 'Google Groups, Gmail relays', start: /^\s*Delivery to the following recipients? failed\.?\s*$/i, end: /^\s*-{3,}/ },
  { source: 'Courier', start: /^Your message to the following recipients cannot be delivered:/i, end: /^-{5,}/, address: /^<([^<>\s]+@[^<>\s]+)>:/ },
  { source: 'Smail', start: /failed addresses follow:/i, end: /message text follows:/i, address: /^\s*(\S+@\S+)/ },
  { source: 'MDaemon', start: /The following addresses did NOT reach their destination/i, end: /--- BEGIN ORIGINAL MESSAGE ---/i, address: ADDR_IN_ANGLES },
  { source: 'Microsoft SMTPSVC', start: /The email below could not be delivered to the following user:/i, end: /^Old message:/i, address: ADDR_IN_ANGLES },
  { source: 'usa.net, older webmail', start: /^\s*Intended recipient:\s*(\S+@\S+)/i, end: /-{4,}\s*RETURNED MAIL FOLLOWS/i, address: /^\s*Intended recipient:\s*(\S+@\S+)/i },
  { source: 'hotpop and other webmail', start: /^\s*Undeliverable Address:\s*(\S+@\S+)/i, end: /Original message attached/i, address: /^\s*Undeliverable Address:\s*(\S+@\S+)/i },
  { source: 'SLmail, Merak, Kerio', start: /This message could not be delivered to the following address(?:es|\(es\))?/i, end: /^\s*-{3,}|Original message/i },
  { source: 'Mercury, GroupWise gateways', start: /^\s*The following recipients? (?:could|can) not be (?:delivered|reached)/i, end: /^\s*-{3,}/ },
  { source: 'kundenserver.de, mxlogic', start: /A message that you(?: have)? sent could not be delivered to (?:one or more of its|all of its)? ?recipients/i, end: /^-{3,}/, address: /^\s*<?([^\s<>:]+@[^\s<>:]+?)>?:?\s*$/ },
  {
    // Exchange, Gmail, Postfix and webmail reports in the languages their users read: one start line, then the
    // recipients one per line up to the first blank line after them.
    source: 'localized reports (de, fr, es, it, pt, nl, ja)',
    start: new RegExp(
      [
        // German
        'Folgende[rn]?(?:\\(r\\))? Empfänger(?:\\(n\\))? konnte(?:n|\\(n\\))? nicht erreicht werden',
        'Zustellung an (?:die )?(?:folgende[n]?|diese) Empfänger(?: oder Gruppen)? (?:ist )?fehlgeschlagen',
        'Die Zustellung an folgende Empfänger ist fehlgeschlagen',
        'Ihre Nachricht konnte (?:an )?(?:die )?folgende[n]? Empfänger nicht (?:zugestellt|übermittelt) werden',
        // French
        "Les destinataires suivants n'ont pas pu être (?:joints|atteints)",
        'La remise (?:du message )?(?:aux|à ces) destinataires(?: ou groupes)?(?: suivants)? a échoué',
        "Votre message n'a pas pu être (?:remis|distribué) aux destinataires suivants",
        'Impossible de remettre (?:le|votre) message aux destinataires suivants',
        // Spanish
        'No se (?:pudo|ha podido|puede) (?:entregar el mensaje a|llegar a) (?:los siguientes|estos) destinatarios',
        'Error (?:al entregar|en la entrega) (?:el mensaje )?a (?:los siguientes|estos) destinatarios',
        // Italian
        'Impossibile recapitare il messaggio ai seguenti destinatari',
        'Recapito non riuscito (?:ai seguenti|per questi) destinatari',
        'Non è stato possibile raggiungere i seguenti destinatari',
        // Portuguese
        'Não foi possível (?:entregar a mensagem a(?:os)?|alcançar os) (?:seguintes|estes) destinatários',
        'Falha (?:na entrega|ao entregar) (?:aos seguintes|para estes|a estes) destinatários',
        'A entrega falhou para (?:estes|os seguintes) destinatários',
        // Dutch
        'De volgende geadresseerden? (?:zijn|is|kon(?:den)?) niet (?:worden )?bereikt',
        '(?:Uw|Het) bericht (?:kan|kon) niet (?:worden )?bezorgd (?:worden )?(?:bij|aan) (?:de volgende|deze) (?:geadresseerden|ontvangers)',
        'Bezorging (?:aan|bij) (?:de volgende|deze) (?:geadresseerden|ontvangers)(?: of groepen)? (?:is )?mislukt',
        // Japanese
        '次の受信者(?:またはグループ)?への(?:メッセージの?)?配信に失敗しました',
        '以下の(?:宛先|アドレス|受信者)(?:への|に)(?:配信|送信)(?:でき|出来)ませんでした',
        '次の(?:宛先|受信者)にメッセージを(?:配信|送信)できませんでした',
      ].join('|'),
      'iu',
    ),
    address: LISTED_ADDRESS,
  },
  { source: 'generic "User unknown"', start: /^\s*(?:Unknown user|User unknown|No such user|Mailbox unavailable|Invalid recipient):\s*(\S+@\S+)\s*$/i, address: /^\s*(?:Unknown user|User unknown|No such user|Mailbox unavailable|Invalid recipient):\s*(\S+@\S+)\s*$/i },
];

const simpleMatch: Detector = {
  name: 'simple-match',
  order: 900,
  detect(message: BounceMessage) {
    return failures(matchPatterns(FAILURE_PATTERNS, message.text, message.lowerText(), message.lines()));
  },
};
export default simpleMatch;
