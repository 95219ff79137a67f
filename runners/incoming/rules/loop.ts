/**
 * loop: a post already carrying this list's List-Id (RFC 2919, `<name.domain>`)
 * or X-BeenThere (`name@domain`), as the pipeline writes them on every post
 * it sends, has been through this list before: discarded, so a member's
 * auto-forward back to the list cannot make a mail loop.
 */
import type { Rule } from '../chain.js';

/** The RFC 2919 list identifier of a list address: `name@domain` -> `name.domain`. */
export function listIdentifier(listAddress: string): string {
  return listAddress.replace('@', '.').toLowerCase();
}

export const loop: Rule = {
  name: 'loop',
  check({ list, message }) {
    const address = list.address.toLowerCase();
    if (message.getAll('X-BeenThere').some((value) => value.toLowerCase().replace(/[<>\s]/g, '') === address)) {
      return { action: 'discard', reason: `already sent by this list (X-BeenThere: ${list.address})` };
    }
    const id = `<${listIdentifier(list.address)}>`;
    if (message.getAll('List-Id').some((value) => value.toLowerCase().includes(id))) {
      return { action: 'discard', reason: `already sent by this list (List-Id ${id})` };
    }
    return undefined;
  },
};
