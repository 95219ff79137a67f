/**
 * Bulk copies: the DKIM signatures of a post, made once per entry in the
 * runner's worker pool (ctx.runTask), never on its event loop. Every
 * transaction of the entry sends the same signed bytes.
 *
 * A signature that cannot be made comes back as `error` (data, not a thrown
 * error, so the runner knows it was the signing and sends the entry to
 * `retry`, never unsigned). Pure computation, no files.
 */
import { MessageSigner, type SigningSpec } from '../../src/mail/dkim/signer.js';

export interface SignTask {
  message: Uint8Array;
  dkim: SigningSpec;
}

export type SignResult = { fields: Uint8Array } | { error: string };

export default function sign(task: SignTask): SignResult {
  try {
    return { fields: new MessageSigner(task.message, task.dkim).sign() };
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
}
