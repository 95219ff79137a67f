/**
 * RFC 3464 delivery status notifications: every message/delivery-status part
 * (in a multipart/report, or forwarded inside another multipart), parsed by
 * ../dsn.ts. Runs before every other detector: when an MTA says in fields
 * what failed, its prose is not needed.
 */
import type { BounceMessage } from '../bounce-message.js';
import { failures, type Detector, type Failures } from '../detector.js';
import { deliveryStatusesOf, recipientAddress, recipientFailure } from '../dsn.js';

export function dsnFailures(message: BounceMessage): Failures | undefined {
  const permanent: string[] = [];
  const temporary: string[] = [];
  for (const status of deliveryStatusesOf(message)) {
    for (const recipient of status.recipients) {
      const address = recipientAddress(recipient);
      const failure = recipientFailure(recipient);
      if (address === undefined || failure === undefined) continue;
      (failure === 'permanent' ? permanent : temporary).push(address);
    }
  }
  return failures(permanent, temporary);
}

/** A DSN whose recipients all parsed and none failed (Action delivered, relayed, expanded): a success report, not a bounce. */
export function isSuccessReport(message: BounceMessage): boolean {
  let recipients = 0;
  for (const status of deliveryStatusesOf(message)) {
    for (const recipient of status.recipients) {
      if (recipientAddress(recipient) === undefined) return false;
      if (recipient.action === undefined || recipientFailure(recipient) !== undefined) return false;
      recipients++;
    }
  }
  return recipients > 0;
}

const dsn: Detector = { name: 'dsn', order: 10, detect: dsnFailures };
export default dsn;
