/**
 * The list settings grouped as Mailman's Postorius groups them on its list
 * settings pages (List Identity, Automatic Responses, Alter Messages, DMARC
 * Mitigations, Digest, Message Acceptance, Archiving, Subscription Policy,
 * Bounce Processing), plus the list header links. Every setting of the
 * schema (src/store/list-settings.ts) is in exactly one group: a setting
 * added later without a group lands in "Other", never off the page.
 */
import { SETTING_KEYS, type SettingKey } from '../../store/list-settings.js';

export interface SettingsGroup {
  id: string;
  title: string;
  /** displayName and description are list fields, the rest settings. */
  keys: readonly (SettingKey | 'displayName' | 'description')[];
}

const GROUPS: readonly SettingsGroup[] = [
  { id: 'identity', title: 'List identity', keys: ['displayName', 'description', 'subjectPrefix', 'advertised'] },
  { id: 'responses', title: 'Automatic responses', keys: ['respondToPostRequests', 'maxAutoResponsesPerDay', 'sendWelcomeMessage', 'welcomeMessageText', 'sendGoodbyeMessage'] },
  { id: 'alter', title: 'Alter messages', keys: ['replyGoesToList', 'replyToAddress', 'headerText', 'footerText', 'postingPipeline'] },
  { id: 'dmarc', title: 'DMARC mitigations', keys: ['dmarcMitigateAction', 'dmarcMitigateUnconditionally'] },
  { id: 'digest', title: 'Digest', keys: ['digestSizeThreshold', 'digestSendPeriodic', 'digestVolumeFrequency'] },
  {
    id: 'acceptance',
    title: 'Message acceptance',
    keys: [
      'emergency',
      'defaultMemberAction',
      'defaultNonmemberAction',
      'acceptTheseNonmembers',
      'holdTheseNonmembers',
      'rejectTheseNonmembers',
      'discardTheseNonmembers',
      'maxMessageSize',
      'maxNumRecipients',
      'requireExplicitDestination',
      'administrivia',
      'noSubjectAction',
      'suspiciousHeaders',
      'moderatorPassword',
      'moderateByReply',
      'maxDaysToHold',
      'postingChain',
    ],
  },
  { id: 'archiving', title: 'Archiving', keys: ['archive', 'archivePolicy', 'archiveUrl'] },
  { id: 'subscription', title: 'Subscription policy', keys: ['subscriptionPolicy', 'unsubscriptionPolicy', 'pendingRequestLifetime', 'confirmationsPerDay', 'bannedAddresses', 'memberRosterVisibility'] },
  {
    id: 'bounces',
    title: 'Bounce processing',
    keys: ['processBounces', 'bounceScoreThreshold', 'bounceInfoStaleAfter', 'bounceYouAreDisabledWarnings', 'bounceYouAreDisabledWarningsInterval', 'bounceNotifyOwnerOnDisable', 'bounceNotifyOwnerOnRemoval', 'forwardUnrecognizedBouncesTo', 'complaintAction', 'verp'],
  },
  { id: 'headers', title: 'List headers', keys: ['includeListPostHeader', 'listHelpUrl', 'listSubscribeUrl', 'listUnsubscribeUrl', 'oneClickUnsubscribe'] },
];

/** The groups, with "Other" holding any setting no group names. */
export function settingsGroups(): SettingsGroup[] {
  const named = new Set(GROUPS.flatMap((g) => g.keys));
  const other = SETTING_KEYS.filter((key) => !named.has(key));
  return other.length === 0 ? [...GROUPS] : [...GROUPS, { id: 'other', title: 'Other', keys: other }];
}
