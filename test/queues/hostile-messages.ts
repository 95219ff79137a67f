/** Message bodies that break naive line- or text-based queue formats. */

function allBytes(): Buffer {
  return Buffer.from(Array.from({ length: 256 }, (_, i) => i));
}

export const HOSTILE_MESSAGES: Record<string, Buffer> = {
  'empty (0 bytes)': Buffer.alloc(0),
  'a single NUL': Buffer.from([0]),
  'NULs inside text': Buffer.from('Subject: a\0b\r\n\r\n\0\0body\0', 'latin1'),
  'bare CR line ends': Buffer.from('Subject: cr\rFrom: x@example.org\r\rbody\r', 'latin1'),
  'bare LF line ends': Buffer.from('Subject: lf\nFrom: x@example.org\n\nbody\n', 'latin1'),
  'mixed CR, LF, CRLF and LFCR': Buffer.from('a\r\nb\nc\rd\n\re\r\r\n\n', 'latin1'),
  'invalid UTF-8 0xff 0xfe': Buffer.from([0xff, 0xfe, 0x41, 0xff, 0xfe]),
  'lone continuation bytes': Buffer.from([0x80, 0x81, 0xbf, 0x41, 0x80]),
  'truncated multi-byte sequence at the end': Buffer.from([0x41, 0xe2, 0x82]),
  'overlong encoding and surrogate half': Buffer.from([0xc0, 0xaf, 0xed, 0xa0, 0x80]),
  'all 256 byte values': allBytes(),
  'all 256 byte values, reversed, twice': Buffer.concat([allBytes().reverse(), allBytes().reverse()]),
  'text that looks like a queue header': Buffer.from('SWITCHYARD-QUEUE 1 2 3\n{}\nSWITCHYARD-QUEUE 1 0 0\n', 'latin1'),
  'only newlines': Buffer.from('\n\n\n', 'latin1'),
};

