/**
 * src/mail/digest.ts: the three digest formats. The MIME digest is parsed
 * back with mailparser (the table of contents first, one message/rfc822
 * attachment per post) and split at its boundaries to show each post is
 * embedded byte for byte, 8-bit and LF-only posts included; the plain
 * digest follows RFC 1153's layout; the summary has the contents alone.
 */
import { simpleParser } from 'mailparser';
import { describe, expect, it } from 'vitest';
import { composeDigest, digestSubject } from '../../src/mail/digest.js';
import { contentTypeOf, splitMultipart } from '../../src/mail/mime-entity.js';
import { RawMessage } from '../../src/mail/raw-message.js';
import { type MailingList } from '../../src/store/index.js';
import { defaultSettings } from '../../src/store/list-settings.js';

const LIST: MailingList = {
  address: 'team@lists.example.org',
  name: 'team',
  domain: 'lists.example.org',
  displayName: 'Team',
  description: '',
  settings: { ...defaultSettings(), archiveUrl: 'https://archive.example.org/team/' },
  createdAt: new Date('2026-01-01T00:00:00Z'),
};

const POSTS = [
  Buffer.from('From: Ann <ann@example.org>\r\nTo: team@lists.example.org\r\nSubject: [Team] first\r\nDate: Sat, 05 Dec 2026 10:00:00 +0000\r\nMessage-ID: <p1@example.org>\r\n\r\nHello team.\r\n------------------------------\r\nnot a separator\r\n'),
  Buffer.from('From: =?utf-8?q?Jos=C3=A9?= <jose@example.org>\r\nSubject: =?utf-8?q?caf=C3=A9?=\r\nMessage-ID: <p2@example.org>\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nUn café, ça va ?\r\n', 'utf8'),
  Buffer.from('From: bob@example.org\nSubject: lf only\nMessage-ID: <p3@example.org>\nContent-Type: multipart/alternative; boundary=b\n\n--b\nContent-Type: text/plain\n\nplain text here\n--b\nContent-Type: text/html\n\n<p>html</p>\n--b--\n'),
];

const input = { list: LIST, volume: 3, issue: 12, date: new Date('2026-12-05T12:00:00Z'), posts: POSTS.map((raw) => ({ raw, sender: 'x@example.org', subject: 'x' })) };

describe('digest formats', () => {
  it('MIME: multipart/mixed with the table of contents first, then a multipart/digest of message/rfc822 parts holding each post byte for byte', async () => {
    const bytes = await composeDigest('mime_digests', input);
    const head = RawMessage.parse(bytes);
    expect(head.get('Subject')).toBe('Team Digest, Vol 3, Issue 12');
    expect(digestSubject(LIST, 3, 12)).toBe('Team Digest, Vol 3, Issue 12');
    expect(head.get('List-Id')).toBe('Team <team.lists.example.org>');
    expect(head.get('To')).toBe('team@lists.example.org');

    const parsed = await simpleParser(bytes);
    expect(parsed.text).toContain("Today's Topics:");
    expect(parsed.text).toMatch(/ 1\. \[Team\] first \(Ann <ann@example\.org>\)/);
    expect(parsed.text).toMatch(/ 2\. café \(José <jose@example\.org>\)/);
    const embedded = parsed.attachments.filter((a) => a.contentType === 'message/rfc822');
    expect(embedded).toHaveLength(3);
    embedded.forEach((attachment, i) => expect(attachment.content.equals(POSTS[i]!)).toBe(true));

    // Split at the boundaries ourselves: the parts of the multipart/digest are the posts exactly.
    const outer = splitMultipart(head.body, contentTypeOf(head).params.boundary!)!;
    const digestPart = RawMessage.parse(head.body.subarray(outer.parts[1]!.start, outer.parts[1]!.end));
    expect(contentTypeOf(digestPart).type).toBe('multipart');
    const inner = splitMultipart(digestPart.body, contentTypeOf(digestPart).params.boundary!)!;
    expect(inner.parts).toHaveLength(3);
    inner.parts.forEach((part, i) => {
      const entity = RawMessage.parse(digestPart.body.subarray(part.start, part.end));
      expect(entity.get('Content-Type')).toBe('message/rfc822');
      expect(entity.body.equals(POSTS[i]!)).toBe(true);
    });
  });

  it('plain: RFC 1153 layout (topics, 70-dash line, each post with its fields and text, 30-dash lines, trailer); a separator-like line is set off', async () => {
    const bytes = await composeDigest('plain_digests', input);
    const message = RawMessage.parse(bytes);
    expect(message.get('Content-Type')).toBe('text/plain; charset="utf-8"');
    const body = message.body.toString('utf8');
    const topics = body.indexOf("Today's Topics:");
    const rule70 = body.indexOf(`\r\n${'-'.repeat(70)}\r\n`);
    expect(topics).toBeGreaterThan(0);
    expect(rule70).toBeGreaterThan(topics);
    expect(body).toContain('Message: 1\r\nDate: Sat, 05 Dec 2026 10:00:00 +0000\r\nFrom: Ann <ann@example.org>\r\nSubject: [Team] first\r\nMessage-ID: <p1@example.org>\r\n\r\nHello team.\r\n ------------------------------\r\nnot a separator');
    expect(body).toContain('Un café, ça va ?');
    expect(body).toContain('plain text here');
    expect(body).not.toContain('<p>html</p>');
    expect(body.split(`\r\n${'-'.repeat(30)}\r\n`)).toHaveLength(4);
    expect(body.trimEnd().endsWith('End of Team Digest, Vol 3, Issue 12\r\n' + '*'.repeat('End of Team Digest, Vol 3, Issue 12'.length))).toBe(true);
  });

  it('summary: the contents with Message-IDs and the archive address, no post text', async () => {
    const body = RawMessage.parse(await composeDigest('summary_digests', input)).body.toString('utf8');
    expect(body).toContain(' 1. [Team] first (Ann <ann@example.org>)\r\n       <p1@example.org>');
    expect(body).toContain('The posts are in the archive: https://archive.example.org/team/');
    expect(body).not.toContain('Hello team');
  });

  it('the header fields refuse a display name with a line break only through oneLine: no injected field', async () => {
    const bytes = await composeDigest('summary_digests', { ...input, list: { ...LIST, displayName: 'Team\r\nBcc: victim@example.org' } });
    expect(RawMessage.parse(bytes).get('Bcc')).toBeUndefined();
  });
});
