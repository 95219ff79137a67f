/**
 * libmime, loaded at its first use instead of with the modules that call it.
 * Its charset tables (iconv-lite, encoding-japanese) are about 10 MB of every
 * process that loads it, and nearly every runner imports a module that calls
 * it (raw-message.ts, header-field.ts) while an idle runner calls none of
 * it: loaded here, a runner pays for it when its first message needs it.
 * require(), not import(): its callers are synchronous, and libmime is a
 * CommonJS package, so loading it on demand needs no await.
 */
import { createRequire } from 'node:module';
import type Libmime from 'libmime';

let loaded: typeof Libmime | undefined;

export function libmime(): typeof Libmime {
  return (loaded ??= createRequire(import.meta.url)('libmime') as typeof Libmime);
}
