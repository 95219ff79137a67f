/**
 * The outgoing benchmark's floor: a bare script sending the same SMTP
 * transactions as the runner (bulk: chunks of maxRecipients sorted by domain;
 * VERP: one per recipient with its VERP sender) through nodemailer's pooled
 * transport with the same pool settings and as many transactions in flight
 * as the runner allows, and nothing else: no queue, no checkpoints.
 *
 *     node outgoing-floor.js PORT MODE POSTS MEMBERS MAX_CONNECTIONS MAX_RECIPIENTS IN_FLIGHT
 *
 * Prints one JSON line: { ms, cpuMs, maxRssKb, transactions }.
 */
import nodemailer from 'nodemailer';
import { encodeVerp } from '../../src/mail/verp.js';
import { benchMessage, benchRecipients } from './outgoing-data.js';

const [port, mode, posts, members, maxConnections, maxRecipients, inFlight] = process.argv.slice(2);
const transport = nodemailer.createTransport({
  pool: true,
  host: '127.0.0.1',
  port: Number(port),
  maxConnections: Number(maxConnections),
  maxMessages: 100,
  maxRequeues: 0,
  logger: false,
});
const message = benchMessage();
const transactions: Array<{ from: string; to: string[] }> = [];
for (let post = 0; post < Number(posts); post++) {
  const recipients = benchRecipients(Number(members), post);
  if (mode === 'verp') {
    for (const r of recipients) transactions.push({ from: encodeVerp('bench@lists.example.org', r)!, to: [r] });
  } else {
    const sorted = [...recipients].sort((a, b) => (a.split('@')[1]! + a < b.split('@')[1]! + b ? -1 : 1));
    for (let i = 0; i < sorted.length; i += Number(maxRecipients)) transactions.push({ from: 'bench-bounces@lists.example.org', to: sorted.slice(i, i + Number(maxRecipients)) });
  }
}
const cpu = process.cpuUsage();
const started = performance.now();
let next = 0;
await Promise.all(
  Array.from({ length: Math.min(Number(inFlight), transactions.length) }, async () => {
    while (next < transactions.length) {
      const t = transactions[next++]!;
      await transport.sendMail({ envelope: t, raw: message });
    }
  }),
);
const ms = performance.now() - started;
const used = process.cpuUsage(cpu);
transport.close();
process.stdout.write(`${JSON.stringify({ ms, cpuMs: (used.user + used.system) / 1000, maxRssKb: process.resourceUsage().maxRSS, transactions: transactions.length })}\n`);
