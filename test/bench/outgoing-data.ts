/** The outgoing benchmark's post and member lists, shared by the benchmark and its floor script. */
export function benchMessage(): Buffer {
  const head = 'From: poster@example.com\r\nTo: bench@lists.example.org\r\nSubject: benchmark post\r\nMessage-ID: <bench@example.com>\r\n\r\n';
  const line = `${'x'.repeat(76)}\r\n`;
  return Buffer.from(head + line.repeat(Math.ceil((4096 - head.length) / line.length))).subarray(0, 4096);
}

/** `members` addresses over 50 domains, distinct per post. */
export function benchRecipients(members: number, post: number): string[] {
  return Array.from({ length: members }, (_, i) => `m${post}x${i}@d${i % 50}.example`);
}
