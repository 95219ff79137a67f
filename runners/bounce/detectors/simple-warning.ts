/**
 * The generic delayed-delivery phrasings (see patterns.ts): the MTA is still
 * trying, so every address found is a temporary failure, never a permanent
 * one. Runs last, after simple-match.
 */
import type { BounceMessage } from '../bounce-message.js';
import { failures, type Detector } from '../detector.js';
import { LISTED_ADDRESS, matchPatterns, type Pattern } from './patterns.js';

export const WARNING_PATTERNS: readonly Pattern[] = [
  { source: 'Gmail', start: /^\s*Delivery to the following recipients? (?:has been|was) delayed:?\s*$/i, end: /^\s*(?:Message will be retried|Technical details|-{5})/i },
  { source: 'Gmail (2015 on, text part)', start: /^\s*Delivery incomplete\s*$/i, end: /^\s*(?:The response from the remote server|-{5})/i, address: /There was a temporary problem delivering your message to (\S+@\S+?)\.?\s/i },
  { source: 'Courier', start: /^Your message to the following recipients has not been delivered yet/i, end: /^-{5,}/, address: /^<([^<>\s]+@[^<>\s]+)>:/ },
  { source: 'generic', start: /^\s*The following recipients? ha(?:s|ve)n.?t (?:yet )?received this message:?\s*$/i, end: /^\s*-{3,}/ },
  { source: 'generic', start: /^\s*This is (?:just )?a warning(?: message)?(?: only)?[,.]?.*(?:need|have) to (?:take any action|resend)/i, end: /^\s*-{3,}|^\s*(?:Delivery attempts will continue|Will keep trying)/i },
  { source: 'generic', start: /^\s*Message delivery to the following recipients? (?:is|has been) delayed/i, end: /^\s*-{3,}/ },
  {
    source: 'localized delay warnings (de, fr, es, it, pt, nl, ja)',
    start: new RegExp(
      [
        'Zustellung (?:an|für) (?:die )?(?:folgende[n]?|diese) Empfänger(?: oder Gruppen)? (?:ist |wurde )?verzögert',
        'Die Zustellung der Nachricht an folgende Empfänger (?:ist |wurde )?verzögert',
        'La remise (?:du message )?(?:aux|à ces) destinataires(?: ou groupes)?(?: suivants)? a été (?:retardée|différée)',
        'La remise est retardée pour ces destinataires',
        'La entrega (?:a|para) (?:los siguientes|estos) destinatarios(?: o grupos)? (?:se ha retrasado|está retrasada|se retrasó)',
        'Il recapito (?:ai seguenti|a questi|per questi) destinatari(?: o gruppi)? (?:è stato ritardato|è in ritardo)',
        'A entrega (?:aos seguintes|para estes|a estes) destinatários(?: ou grupos)? (?:foi atrasada|está atrasada|está atrasando)',
        '(?:De )?[Bb]ezorging (?:aan|bij) (?:de volgende|deze) (?:geadresseerden|ontvangers)(?: of groepen)? (?:is )?vertraagd',
        '次の受信者(?:またはグループ)?への(?:メッセージの?)?配信が(?:遅れています|遅延しています)',
      ].join('|'),
      'iu',
    ),
    address: LISTED_ADDRESS,
  },
];

const simpleWarning: Detector = {
  name: 'simple-warning',
  order: 910,
  detect(message: BounceMessage) {
    return failures([], matchPatterns(WARNING_PATTERNS, message.text, message.lowerText(), message.lines()));
  },
};
export default simpleWarning;
