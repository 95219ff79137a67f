import { describe, expect, it } from 'vitest';
import { ListSettingError } from '../../src/store/errors.js';
import { defaultSettings, parseSettings, parseSettingValue, SETTING_KEYS, settingDescription, verifyModeratorPassword } from '../../src/store/list-settings.js';

describe('list settings', () => {
  it('has a default and a description for every setting, with the defaults the posting chain expects', () => {
    const defaults = defaultSettings();
    for (const key of SETTING_KEYS) {
      expect(defaults[key], key).not.toBeUndefined();
      expect(settingDescription(key).length, key).toBeGreaterThan(10);
    }
    expect(defaults).toMatchObject({ defaultNonmemberAction: 'hold', maxMessageSize: 40, emergency: false, moderatorPassword: null, archive: true });
  });

  it('fills in defaults for settings a stored row lacks, and drops keys it does not know', () => {
    const settings = parseSettings({ emergency: true, fromTheFuture: 1 }, false);
    expect(settings.emergency).toBe(true);
    expect(settings.maxNumRecipients).toBe(10);
    expect(settings).not.toHaveProperty('fromTheFuture');
  });

  it('refuses unknown keys from a caller, naming the key', () => {
    expect(() => parseSettings({ emergancy: true }, true)).toThrow(/emergancy: no such setting/);
  });

  it.each([
    ['emergency', 'yes', { emergency: true }],
    ['emergency', 'off', { emergency: false }],
    ['maxMessageSize', '0', { maxMessageSize: 0 }],
    ['bounceScoreThreshold', '2.5', { bounceScoreThreshold: 2.5 }],
    ['defaultNonmemberAction', 'reject', { defaultNonmemberAction: 'reject' }],
    ['subjectPrefix', '[x] ', { subjectPrefix: '[x] ' }],
    ['suspiciousHeaders', '["^X-Spam-Flag: YES"]', { suspiciousHeaders: ['^X-Spam-Flag: YES'] }],
    ['moderatorPassword', 'none', { moderatorPassword: null }],
  ])('parses %s = %j from the command line', (key, text, expected) => {
    expect(parseSettingValue(key, text)).toEqual(expected);
  });

  it.each([
    ['nosuch', '1', 'nosuch: no such setting'],
    ['emergency', 'perhaps', 'emergency: expected true or false'],
    ['maxMessageSize', '-1', 'maxMessageSize'],
    ['maxMessageSize', '1.5', 'maxMessageSize'],
    ['maxMessageSize', 'big', 'maxMessageSize: expected a number'],
    ['defaultMemberAction', 'defer', 'defaultMemberAction: expected one of accept, hold, reject, discard'],
    ['suspiciousHeaders', '^X-Spam', 'suspiciousHeaders: expected a JSON array'],
    ['suspiciousHeaders', '["("]', 'not a valid regular expression'],
    ['postingPipeline', '["Bad Name"]', 'postingPipeline'],
  ])('refuses %s = %j with a message naming the key', (key, text, message) => {
    expect(() => parseSettingValue(key, text)).toThrow(ListSettingError);
    expect(() => parseSettingValue(key, text)).toThrow(message);
  });

  it('stores the moderator password as a salted hash that verifies', () => {
    const { moderatorPassword } = parseSettingValue('moderatorPassword', 's3cret');
    expect(moderatorPassword).toMatch(/^scrypt\$/);
    expect(moderatorPassword).not.toContain('s3cret');
    expect(verifyModeratorPassword({ moderatorPassword: moderatorPassword ?? null }, 's3cret')).toBe(true);
    expect(verifyModeratorPassword({ moderatorPassword: moderatorPassword ?? null }, 'wrong')).toBe(false);
    expect(verifyModeratorPassword({ moderatorPassword: null }, '')).toBe(false);
    expect(() => parseSettings({ moderatorPassword: 'plaintext' }, true)).toThrow(/moderatorPassword/);
  });
});
