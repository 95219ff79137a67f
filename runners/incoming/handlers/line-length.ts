/**
 * line-length: the post made to respect the 998-octet line limit of RFC 5322
 * before it leaves (src/mail/line-length.ts: header fields folded, the parts
 * with a long line re-encoded as quoted-printable or base64, every other
 * part byte for byte). A strict smarthost refuses a longer line (`500 Line
 * too long`), which would park the whole post in shunt.
 *
 * The pipeline runs it after every handler the list names (pipeline.ts), so
 * it also sees what decoration added. What cannot be fixed (a header line
 * with no white space to fold at) was held by the posting chain's
 * overlong-lines rule; a moderator who approved it anyway gets it sent as it
 * is, logged here.
 */
import { limitLineLength } from '../../../src/mail/line-length.js';
import type { PipelineContext } from '../pipeline.js';

export function lineLength(ctx: PipelineContext): void {
  const result = limitLineLength(ctx.message);
  if (result.changes.length > 0) {
    ctx.log.info({ list: ctx.list.address, changes: result.changes }, 'line-length: lines over 998 octets re-encoded or folded');
    ctx.message = result.message;
  }
  if (result.problems.length > 0) {
    ctx.log.warn({ list: ctx.list.address, problems: result.problems }, 'line-length: lines over 998 octets left as they are (a strict smarthost may refuse the post)');
  }
}
