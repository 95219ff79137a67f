/**
 * The words people write for a member's delivery mode and status, read into
 * the store's values: the names themselves (`mime_digests`, `by_owner`),
 * Mailman 2's short words (`mime`, `plain`, `off`) and Mailman 3's
 * `disabled_by_*` spellings. One reading for every caller: `members set`,
 * the `set` email command, the REST API's preferences and the member file
 * columns of `members import` (src/store/member-import.ts).
 */
import { DELIVERY_MODES, DELIVERY_STATES, type DeliveryMode, type DeliveryStatus } from './store.js';

const MODE_WORDS: Readonly<Record<string, DeliveryMode>> = { no: 'regular', off: 'regular', mime: 'mime_digests', plain: 'plain_digests', summary: 'summary_digests', yes: 'mime_digests', on: 'mime_digests', digest: 'mime_digests' };
const STATUS_WORDS: Readonly<Record<string, DeliveryStatus>> = { on: 'enabled', off: 'by_user', disabled: 'by_user' };

/** The delivery mode a word means, or undefined. */
export function deliveryModeOf(word: string): DeliveryMode | undefined {
  const lower = word.trim().toLowerCase();
  const mode = MODE_WORDS[lower] ?? lower;
  return (DELIVERY_MODES as readonly string[]).includes(mode) ? (mode as DeliveryMode) : undefined;
}

/** The delivery status a word means, or undefined. */
export function deliveryStatusOf(word: string): DeliveryStatus | undefined {
  const lower = word.trim().toLowerCase().replace(/^disabled_/, '');
  const status = STATUS_WORDS[lower] ?? lower;
  return (DELIVERY_STATES as readonly string[]).includes(status) ? (status as DeliveryStatus) : undefined;
}
