/**
 * Bulk copies: the ARC set and the DKIM signatures of a post, made once per
 * entry in the runner's worker pool (ctx.runTask), never on its event loop.
 * Every transaction of the entry sends the same sealed and signed bytes.
 *
 * ARC (RFC 8617, mailauth's sealMessage): when the entry carries what the
 * incoming runner verified (`arc` here), an ARC set goes on top of the post
 * as the list re-sends it: ARC-Authentication-Results (our
 * Authentication-Results of the post as it arrived), ARC-Message-Signature
 * and ARC-Seal with cv= from the chain as verified (none: the first set;
 * pass: the chain held), signed with the list domain's RSA key. The DKIM
 * signatures go on top of the sealed post.
 *
 * A seal or signature that cannot be made comes back as `error` (data, not
 * a thrown error, so the runner knows it was the signing and sends the entry
 * to `retry`, never unsigned). Pure computation, no files.
 */
import { sealMessage } from 'mailauth';
import { MessageSigner, type SigningSpec } from '../../src/mail/dkim/signer.js';

export interface ArcSealSpec {
  domain: string;
  selector: string;
  /** An RSA key (RFC 8617 defines rsa-sha256 only). */
  pem: string;
  /** The ARC-Authentication-Results value after `i=N; `: `authserv-id; method=result ...`. */
  authResults: string;
  /** cv= of the new set: `none` for the first, else `pass`. */
  cv: 'none' | 'pass';
  /** t=, Unix seconds; default the time of sealing. */
  time?: number;
}

export interface SignTask {
  message: Uint8Array;
  dkim: SigningSpec;
  arc?: ArcSealSpec;
}

export type SignResult = { fields: Uint8Array } | { error: string };

/**
 * The ARC set (ARC-Seal, ARC-Message-Signature, ARC-Authentication-Results)
 * for `message` as it is sent, to go on top of it; throws with the reason
 * when it cannot be made. Shared with the personalised copies
 * (render-worker.ts), each of which is sealed on its own bytes.
 */
export async function arcSet(message: Buffer, arc: ArcSealSpec): Promise<Buffer> {
  let fields: Buffer;
  try {
    fields = await sealMessage(message, {
      signingDomain: arc.domain,
      selector: arc.selector,
      privateKey: arc.pem,
      algorithm: 'rsa-sha256',
      authResults: arc.authResults,
      cv: arc.cv,
      ...(arc.time === undefined ? {} : { signTime: new Date(arc.time * 1000) }),
    } as Parameters<typeof sealMessage>[1]);
  } catch (error) {
    throw new Error(`ARC sealing failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  if (fields.length === 0) throw new Error('ARC sealing made no ARC set');
  // mailauth writes CRLF; a post kept with LF line endings gets LF fields, as the DKIM signer writes them.
  return message.includes('\r\n') ? fields : Buffer.from(fields.toString('latin1').replace(/\r\n/g, '\n'), 'latin1');
}

export default async function sign(task: SignTask): Promise<SignResult> {
  const message = Buffer.from(task.message.buffer, task.message.byteOffset, task.message.byteLength);
  let arcFields: Buffer = Buffer.alloc(0);
  if (task.arc !== undefined) {
    try {
      arcFields = await arcSet(message, task.arc);
    } catch (error) {
      return { error: (error as Error).message };
    }
  }
  try {
    const sealed = arcFields.length === 0 ? message : Buffer.concat([arcFields, message]);
    return { fields: Buffer.concat([new MessageSigner(sealed, task.dkim).sign(), arcFields]) };
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
}
