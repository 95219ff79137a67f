/**
 * The `[mta]` section: the files `switchyard aliases` writes for the MTA
 * (src/mta/). Imported by src/config/schema.ts as one field.
 */
import { z } from 'zod';

export const mtaSchema = z
  .object({
    postfixMapType: z
      .enum(['hash', 'lmdb', 'cdb', 'btree', 'texthash'])
      .default('hash')
      .describe("Postfix lookup table type of the written maps (main.cf says `hash:<home>/postfix_lmtp`); 'texthash' needs no postmap but a `postfix reload` after each change"),
    postmapCommand: z
      .string()
      .default('/usr/sbin/postmap')
      .describe("run as `postmapCommand TYPE:FILE` on each written map (not for texthash), so Postfix sees list changes at once; '' skips it"),
    pipeCommand: z
      .string()
      .default('')
      .describe("the switchyard command the pipe transport and Exim run, as written into their files; '' means this installation (`node <path>/main.js`)"),
  })
  .strict()
  .prefault({})
  .describe('the MTA integration files that `switchyard aliases` writes into the home directory');

export type MtaConfig = z.output<typeof mtaSchema>;
