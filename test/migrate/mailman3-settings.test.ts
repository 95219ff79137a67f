/**
 * Mailman 3's archive_policy in switchyard's terms (src/migrate/mailman3-settings.ts):
 * never: no archiving; public: the web archive for anyone; private: for members only
 * (HyperKitty's private archive), switchyard's archivePolicy private. Nothing is left
 * in the unmapped report for them.
 */
import { describe, expect, it } from 'vitest';
import { mapMailman3Settings } from '../../src/migrate/mailman3-settings.js';

describe('archive_policy', () => {
  it.each([
    ['never', { archive: false }],
    ['public', { archive: true, archivePolicy: 'public' }],
    ['private', { archive: true, archivePolicy: 'private' }],
  ] as const)('%s maps to %o with nothing unmapped', (policy, expected) => {
    const mapped = mapMailman3Settings({ archive_policy: policy });
    expect(mapped.settings).toMatchObject(expected);
    if (policy === 'never') expect(mapped.settings.archivePolicy).toBeUndefined();
    expect(mapped.unmapped.filter((u) => u.setting === 'archive_policy')).toEqual([]);
  });

  it('an unknown policy keeps archiving on and is reported', () => {
    const mapped = mapMailman3Settings({ archive_policy: 'sometimes' });
    expect(mapped.settings.archive).toBeUndefined();
    expect(mapped.unmapped).toContainEqual(expect.objectContaining({ setting: 'archive_policy', value: 'sometimes' }));
  });
});
