/**
 * The last look at a message before the SMTP hand-off, which turns every bare
 * CR and bare LF into CRLF (nodemailer's DATA stream, as SMTP requires):
 *
 * - the header block must hold no stray line break
 *   (src/mail/header-line-endings.ts): one would become a header line on the
 *   wire that was not a header line of the accepted post nor one the pipeline
 *   added. The incoming and virgin runners repair them on the way in, so one
 *   here means a path that did not (or a bug): the entry is refused to
 *   `shunt` (HeaderInjectionError, SY_HEADER_INJECTION) rather than sent;
 * - bare CRs in the body are re-encoded (src/mail/bare-cr.ts), so they
 *   arrive as the sender's bytes, not as new lines.
 *
 * The final line ending is left to the hand-off: SMTP adds a CRLF only to a
 * message that does not already end in one.
 *
 * Pure computation on the entry's bytes; the entry itself is not rewritten.
 */
import { encodeBareCarriageReturns, hasBareCr } from '../../src/mail/bare-cr.js';
import { strayLineBreaks } from '../../src/mail/header-line-endings.js';
import { RawMessage } from '../../src/mail/raw-message.js';
import { RunnerError } from '../errors.js';

export class HeaderInjectionError extends RunnerError {
  constructor(readonly offsets: number[]) {
    super(
      'SY_HEADER_INJECTION',
      `refused to send: the header block holds ${offsets.length} bare CR/LF (first at byte ${offsets[0]}) that the SMTP hand-off would turn into new header lines`,
    );
  }
}

export interface WireForm {
  message: Buffer;
  /** Body parts re-encoded because of bare CRs. */
  reencoded: number;
  /** Bare CRs that could only become spaces. */
  flattened: number;
}

export function wireForm(message: Buffer): WireForm {
  const strays = strayLineBreaks(message);
  if (strays.length > 0) throw new HeaderInjectionError(strays);
  if (!hasBareCr(message)) return { message, reencoded: 0, flattened: 0 };
  const result = encodeBareCarriageReturns(RawMessage.parse(message));
  if (result.reencoded === 0 && result.flattened === 0) return { message, reencoded: 0, flattened: 0 };
  return { message: result.message.toBuffer(), reencoded: result.reencoded, flattened: result.flattened };
}
