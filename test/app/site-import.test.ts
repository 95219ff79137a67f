/**
 * importSite() with names the store would refuse: a display name from the
 * old site that holds a line break (Mailman 2.1 stored what its forms took)
 * is kept on one line, the report says so, and the rest of the import goes on.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { importSite } from '../../src/app/site-import.js';
import { importedMember, type ImportedList } from '../../src/migrate/site-model.js';
import { LIST, testApp, type TestApp } from './harness.js';

let app: TestApp;
beforeEach(async () => {
  app = await testApp();
});
afterEach(async () => {
  await app.close();
});

function listWith(fields: Partial<ImportedList>): ImportedList {
  return { address: LIST, displayName: 'Dev', description: '', settings: {}, nonmembers: [], bans: [], members: [], held: [], requests: [], unmapped: [], ...fields };
}

describe('importSite and display names', () => {
  it('turns control characters in imported member and request names into spaces, reports each, and imports everything else', async () => {
    const now = app.now();
    const site = {
      source: 'test',
      siteUnmapped: [],
      lists: [
        listWith({
          members: [
            importedMember('anne@example.org', 'member', { displayName: 'Anne\r\nBcc: all@example.org' }),
            importedMember('bob@example.org', 'member', { displayName: 'Bob Plain' }),
            importedMember('owner@example.org', 'owner', { displayName: 'Own\ter\u0007' }),
          ],
          requests: [{ token: 'tok-import-1', kind: 'subscribe', address: 'new@example.org', displayName: 'New\nName', createdAt: now, expiresAt: new Date(now.getTime() + 86_400_000) }],
        }),
      ],
    };
    const report = await importSite(app, site);
    const [list] = report.lists;
    expect(list!.members).toMatchObject({ added: 3 });
    expect(list!.problems).toEqual([
      'member "anne@example.org": control characters in the display name replaced by spaces',
      'owner "owner@example.org": control characters in the display name replaced by spaces',
      'pending request "new@example.org": control characters in the display name replaced by spaces',
    ]);
    const names = Object.fromEntries((await app.store.members(LIST)).map((member) => [member.address, member.displayName]));
    expect(names).toMatchObject({ 'anne@example.org': 'Anne Bcc: all@example.org', 'bob@example.org': 'Bob Plain' });
    expect((await app.store.pendingRequestByToken('tok-import-1'))?.displayName).toBe('New Name');

    const again = await importSite(app, site);
    expect(again.lists[0]!.members).toMatchObject({ added: 0, updated: 0, unchanged: 3 });
  });
});
