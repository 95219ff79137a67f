/** Links in mail exist only where the world can follow them: the HTTP service on, with a baseUrl. */
import { describe, expect, it } from 'vitest';
import { publicBaseUrl, webBaseUrlOf } from '../../src/app/web-links.js';

describe('publicBaseUrl', () => {
  it('is baseUrl without its trailing slash when the service runs', () => {
    expect(publicBaseUrl({ enabled: true, baseUrl: 'https://lists.example.org/' })).toBe('https://lists.example.org');
    expect(webBaseUrlOf({ enabled: true, baseUrl: 'https://lists.example.org' })).toEqual({ webBaseUrl: 'https://lists.example.org' });
  });

  it('is none without a baseUrl (the loopback listener is no link for a recipient) or with the service off', () => {
    expect(publicBaseUrl({ enabled: true, baseUrl: undefined })).toBeUndefined();
    expect(publicBaseUrl({ enabled: false, baseUrl: 'https://lists.example.org' })).toBeUndefined();
    expect(webBaseUrlOf({ enabled: true, baseUrl: undefined })).toEqual({});
  });
});
