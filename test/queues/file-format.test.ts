import { describe, expect, it } from 'vitest';
import { decodeEntry, encodeEntry, FileFormatError, jsonOnce, type EntryControl, type JsonObject } from '../../queues/index.js';
import { HOSTILE_MESSAGES } from './hostile-messages.js';

const control: EntryControl = { restores: 0, enqueuedAt: '2026-01-02T03:04:05.000Z' };

function encoded(metadata: JsonObject, message: Uint8Array, ctl: EntryControl = control): Buffer {
  return Buffer.concat(encodeEntry(metadata, ctl, message));
}

describe('queue file format, version 1', () => {
  for (const [name, message] of Object.entries(HOSTILE_MESSAGES)) {
    it(`round-trips a message byte for byte: ${name}`, () => {
      const decoded = decodeEntry(encoded({ listId: 'l.example.org' }, message));
      expect(decoded.message.equals(message)).toBe(true);
      expect(decoded.message.length).toBe(message.length);
      expect(decoded.metadata).toEqual({ listId: 'l.example.org' });
      expect(decoded.control).toEqual(control);
    });
  }

  it('round-trips a message given as a Uint8Array view into a larger buffer without its neighbours', () => {
    const backing = new Uint8Array([9, 9, 1, 2, 0, 255, 9, 9]);
    const view = backing.subarray(2, 6);
    expect([...decodeEntry(encoded({}, view)).message]).toEqual([1, 2, 0, 255]);
  });

  it('round-trips metadata with unicode, control characters, lone surrogates, nesting and every JSON type', () => {
    const metadata = {
      listId: 'tëst.example.org',
      sender: 'Ünïcødé <u@example.org> 🙂',
      nul: 'a\u0000b\r\nc',
      loneSurrogate: '\ud800x\udfff',
      number: -1.5e-7,
      big: Number.MAX_SAFE_INTEGER,
      yes: true,
      no: false,
      nothing: null,
      recipients: ['a@example.org', 'b@example.org'],
      nested: { deeper: { list: [1, 'two', null, { three: [] }] } },
      '': 'empty key',
    };
    const ctl: EntryControl = { restores: 2, enqueuedAt: control.enqueuedAt, originalQueue: 'in', reason: 'why\nnot', movedAt: control.enqueuedAt, extra: [1, 2] };
    const decoded = decodeEntry(encoded(metadata, Buffer.from('x')));
    expect(decoded.metadata).toEqual(metadata);
    expect(decodeEntry(encoded(metadata, Buffer.from('x'), ctl)).control).toEqual(ctl);
  });

  it('starts with the header line "SWITCHYARD-QUEUE 1 <json length> <message length>" followed by the JSON line and the raw message', () => {
    const message = Buffer.from('Subject: hi\n\nhello\n');
    const bytes = encoded({ a: 1 }, message);
    const json = JSON.stringify({ metadata: { a: 1 }, control });
    expect(bytes.toString('latin1')).toBe(`SWITCHYARD-QUEUE 1 ${Buffer.byteLength(json)} ${message.length}\n${json}\nSubject: hi\n\nhello\n`);
  });

  it('writes a jsonOnce() value byte for byte as JSON.stringify would, wherever it is a top-level value, and freezes it', () => {
    const recipients = jsonOnce(['ä@example.org', 'b@example.org', 'q"uote\\@example.org']);
    expect(Object.isFrozen(recipients)).toBe(true);
    expect(() => (recipients as string[]).push('x')).toThrow(TypeError);
    for (const metadata of [{ recipients }, { listId: 'l', recipients, nested: { same: recipients }, skipped: undefined, n: 1 } as unknown as JsonObject, { '': recipients, 0: 'first' } as JsonObject]) {
      const bytes = encoded(metadata, Buffer.from('m'));
      expect(bytes.toString('utf8')).toBe(`SWITCHYARD-QUEUE 1 ${Buffer.byteLength(JSON.stringify({ metadata, control }))} 1\n${JSON.stringify({ metadata, control })}\nm`);
      expect(decodeEntry(bytes).metadata).toEqual(JSON.parse(JSON.stringify(metadata)));
    }
  });

  it('counts the JSON length in bytes, not characters, so multi-byte metadata decodes', () => {
    const bytes = encoded({ s: 'ééé🙂' }, Buffer.from('m'));
    const header = bytes.subarray(0, bytes.indexOf(0x0a)).toString('latin1').split(' ');
    expect(Number(header[2])).toBe(Buffer.byteLength(JSON.stringify({ metadata: { s: 'ééé🙂' }, control })));
    expect(decodeEntry(bytes).metadata).toEqual({ s: 'ééé🙂' });
  });

  describe('rejects damaged files with a FileFormatError that says what is wrong', () => {
    const good = encoded({ listId: 'l' }, Buffer.from('Subject: x\n\nbody\n'));
    const header = good.subarray(0, good.indexOf(0x0a) + 1).toString('latin1');
    const rest = good.subarray(header.length);
    const cases: [string, Buffer, RegExp][] = [
      ['an empty file', Buffer.alloc(0), /^empty file$/],
      ['random bytes without a newline', Buffer.alloc(300, 0x41), /not a switchyard queue file/],
      ['a text file', Buffer.from('From: a@example.org\nSubject: not a queue file\n\nhi\n'), /bad header line: not a switchyard queue file/],
      ['a file truncated by one byte', good.subarray(0, good.length - 1), /^truncated file: \d+ bytes, header says \d+$/],
      ['a file truncated by ten bytes', good.subarray(0, good.length - 10), /^truncated file/],
      ['a file truncated inside its JSON', good.subarray(0, header.length + 5), /^truncated file/],
      ['a file cut inside its header line', good.subarray(0, 10), /no header line/],
      ['a file with a byte appended', Buffer.concat([good, Buffer.from('x')]), /^overlong file/],
      ['header version 2', Buffer.concat([Buffer.from(header.replace('QUEUE 1 ', 'QUEUE 2 ')), rest]), /unknown queue file format version "2" \(this switchyard reads 1\)/],
      ['header version 0', Buffer.concat([Buffer.from(header.replace('QUEUE 1 ', 'QUEUE 0 ')), rest]), /unknown queue file format version "0"/],
      ['a negative length', Buffer.from('SWITCHYARD-QUEUE 1 -2 0\n{}\n'), /bad length "-2" in header/],
      ['a header with five fields', Buffer.from('SWITCHYARD-QUEUE 1 2 0 9\n{}\n'), /bad header line/],
      ['JSON that is an array', withJson('[1,2,3]'), /lacks the metadata and control objects/],
      ['JSON that is a string', withJson('"metadata"'), /lacks the metadata and control objects/],
      ['JSON that is null', withJson('null'), /lacks the metadata and control objects/],
      ['JSON whose metadata is not an object', withJson(JSON.stringify({ metadata: [], control })), /lacks the metadata and control objects/],
      ['JSON without control', withJson(JSON.stringify({ metadata: {} })), /lacks the metadata and control objects/],
      ['JSON that does not parse', withJson('{"metadata": {'), /metadata is not valid JSON/],
      ['a negative restore count', withJson(JSON.stringify({ metadata: {}, control: { ...control, restores: -1 } })), /control.restores is not a non-negative integer/],
      ['a fractional restore count', withJson(JSON.stringify({ metadata: {}, control: { ...control, restores: 1.5 } })), /control.restores/],
      ['a missing separator after the JSON', Buffer.from('SWITCHYARD-QUEUE 1 2 1\n{}xy'), /missing separator after JSON/],
    ];
    for (const [name, bytes, reason] of cases) {
      it(name, () => {
        let thrown: unknown;
        try {
          decodeEntry(bytes);
        } catch (error) {
          thrown = error;
        }
        expect(thrown).toBeInstanceOf(FileFormatError);
        expect((thrown as FileFormatError).code).toBe('SY_QUEUE_FORMAT');
        expect((thrown as Error).message).toMatch(reason);
      });
    }
  });
});

function withJson(json: string, message = Buffer.from('m')): Buffer {
  const bytes = Buffer.from(json, 'utf8');
  return Buffer.concat([Buffer.from(`SWITCHYARD-QUEUE 1 ${bytes.length} ${message.length}\n`), bytes, Buffer.from('\n'), message]);
}
