/**
 * Writing the MTA files of postfix.ts and exim.ts into the home directory,
 * and indexing the Postfix maps with postmap (mta.postmapCommand), so a
 * running Postfix sees a new list at once.
 *
 * Files: each written beside itself as a temp file, then renamed over the
 * old one (queues/durable-file.ts writeNewFile): the MTA reads either the
 * old or the new version, never half of one. postmap writes `<file>.db`
 * the same way (its own temp file and rename). Killed between two files:
 * some files are of the new list set, some of the old; the next
 * `switchyard aliases` (or list change) rewrites them all.
 */
import { SwitchyardError } from '../errors.js';
import { execFile } from 'node:child_process';
import { rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Config } from '../config/schema.js';
import { eximAddresses, eximStanza, EXIM_FILES } from './exim.js';
import { parseLmtpDestination } from './mta-schema.js';
import { lmtpNexthop, postfixDomainsMap, postfixLmtpMap, postfixPipeMap, postfixVirtualMap, POSTFIX_FILES, type MappedList } from './postfix.js';

const run = promisify(execFile);

export class PostmapError extends SwitchyardError {
  constructor(readonly file: string, detail: string) {
    super('SY_POSTMAP', `postmap could not index ${file}: ${detail}`);
  }
}

export interface WrittenFiles {
  /** Absolute paths of the files written (not the postmap outputs). */
  files: string[];
  /** Maps postmap indexed; empty when the type needs none or postmapCommand is ''. */
  indexed: string[];
  /** Why the maps were not indexed although the type needs it (postmap is not installed: an Exim site). */
  notIndexed?: string;
}

/** The command an MTA runs for `switchyard`, as configured or this installation's. */
export function switchyardCommand(config: Config): string {
  if (config.mta.pipeCommand !== '') return config.mta.pipeCommand;
  const main = fileURLToPath(new URL('../cli/main.js', import.meta.url));
  return `${process.execPath} ${main}`;
}

async function writeAtomically(path: string, text: string): Promise<void> {
  const temp = `${path}.${process.pid}.tmp`;
  try {
    await writeFile(temp, text, { mode: 0o640 });
    await rename(temp, path);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw error;
  }
}

export async function writeMtaFiles(home: string, config: Config, lists: readonly MappedList[]): Promise<WrittenFiles> {
  const hosts = config.hosts.lmtp.map((text) => parseLmtpDestination(text)).filter((destination) => destination !== undefined);
  const nexthop = lmtpNexthop(config.lmtp.host, config.lmtp.port, hosts);
  const postfixMaps: [string, string][] = [
    [POSTFIX_FILES.lmtp, postfixLmtpMap(lists, nexthop)],
    [POSTFIX_FILES.pipe, postfixPipeMap(lists)],
    [POSTFIX_FILES.vmap, postfixVirtualMap(lists)],
    [POSTFIX_FILES.domains, postfixDomainsMap(lists)],
  ];
  const others: [string, string][] = [
    [EXIM_FILES.addresses, eximAddresses(lists)],
    [EXIM_FILES.stanza, eximStanza({ home, lmtpHost: config.lmtp.host, lmtpPort: config.lmtp.port, lmtpHosts: hosts, command: switchyardCommand(config) })],
  ];
  const files: string[] = [];
  for (const [name, text] of [...postfixMaps, ...others]) {
    const path = join(home, name);
    await writeAtomically(path, text);
    files.push(path);
  }
  const indexed: string[] = [];
  const { postfixMapType: type, postmapCommand } = config.mta;
  if (type !== 'texthash' && postmapCommand !== '') {
    for (const [name] of postfixMaps) {
      const path = join(home, name);
      try {
        await run(postmapCommand, [`${type}:${path}`], { timeout: 60_000 });
      } catch (error) {
        const err = error as NodeJS.ErrnoException & { stderr?: string };
        // No Postfix on this machine (an Exim site): the text files are all it needs.
        if (err.code === 'ENOENT') return { files, indexed, notIndexed: `${postmapCommand} not found; set mta.postmapCommand = "" when not using Postfix` };
        throw new PostmapError(path, (err.stderr?.trim() || err.message).replace(/\s+/g, ' ').trim());
      }
      indexed.push(path);
    }
  }
  return { files, indexed };
}
