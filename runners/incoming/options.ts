/**
 * `[runner.incoming.options]`: the incoming runner's own settings. A module
 * of its own, without the runner, because the configuration schema
 * (src/config, via runners/builtin.ts) checks and lists them for
 * `config show` and `start` without loading the runner.
 */
import { z } from 'zod';
import { durationKnob } from '../../src/config/knob-types.js';

/** `[runner.incoming.options]`. */
export const incomingOptionsSchema = z
  .object({
    parseMaxSize: z
      .number()
      .int()
      .min(0)
      .default(10 * 1024 * 1024)
      .describe('messages larger than this many bytes are not given to mailparser (and so are held by the size rule)'),
    parseTimeout: durationKnob('10s', 'a mailparser run longer than this fails its entry to shunt (a MIME bomb costs one entry)'),
    maxHops: z
      .number()
      .int()
      .min(1)
      .default(25)
      .describe('a post with more Received fields than this has gone round a mail loop: discarded, logged (Postfix hopcount_limit)'),
    maxFromAddresses: z.number().int().min(1).default(10).describe('a post whose From names more addresses than this is held'),
  })
  .strict();

export type IncomingOptions = z.output<typeof incomingOptionsSchema>;
