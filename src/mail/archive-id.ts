/**
 * The id of an archived post on the web (`/archives/LIST/m/ID`): the first
 * 32 hex digits of the archive's record key for its Message-ID
 * (src/mail/mboxrd.ts archiveKey), so the pipeline can name a post's
 * archive URL (Archived-At, RFC 5064) before the archive runner writes it.
 */
import { createHash } from 'node:crypto';

export function archiveMessageId(messageId: string): string {
  return createHash('sha256').update('message-id\0').update(messageId).digest('hex').slice(0, 32);
}
