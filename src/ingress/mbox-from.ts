/**
 * The `From sender date` line Postfix's pipe(8) puts before the message with
 * flag F (and Exim's pipe transport with `use_from_line`). It is not part of
 * the RFC 5322 message: it is dropped, and its sender used when no
 * `--sender` was given. A header field `From:` has a colon right after the
 * name, so it is never mistaken for this line.
 */

export interface MboxFromLine {
  /** The message without the line (a view of the same bytes). */
  message: Buffer;
  /** The line's sender, '' for MAILER-DAEMON (the null sender); undefined when there was no line. */
  sender: string | undefined;
}

const FROM_SPACE = Buffer.from('From ');

export function stripMboxFrom(input: Buffer): MboxFromLine {
  if (input.length < FROM_SPACE.length || !input.subarray(0, FROM_SPACE.length).equals(FROM_SPACE)) return { message: input, sender: undefined };
  const eol = input.indexOf(0x0a);
  const line = input.subarray(FROM_SPACE.length, eol < 0 ? input.length : eol).toString('latin1').replace(/\r$/, '');
  const word = line.trim().split(/\s+/)[0] ?? '';
  const sender = word === 'MAILER-DAEMON' || word === '<>' ? '' : word.replace(/^<(.*)>$/, '$1');
  return { message: eol < 0 ? input.subarray(input.length) : input.subarray(eol + 1), sender };
}

/** Whether there is nothing but white space: not a message. */
export function isBlank(message: Buffer): boolean {
  for (const byte of message) if (byte !== 0x20 && byte !== 0x09 && byte !== 0x0d && byte !== 0x0a) return false;
  return true;
}
