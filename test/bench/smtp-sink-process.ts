/**
 * The outgoing benchmark's SMTP sink, in a process of its own so that its
 * CPU does not count against what it measures: accepts everything, counts,
 * and tells the parent (IPC) when a given number of recipients has arrived
 * and when (wall clock). Messages from the parent:
 *   {type:'await', recipients: N}   reply {type:'reached', at, transactions} once the count since the last reset reaches N
 *   {type:'reset'}                  zero the counters
 */
import { SmtpSink } from '../fixtures/smtp-sink.js';
import { wallClockMs } from './harness.js';

type Request = { type: 'await'; recipients: number } | { type: 'reset' };

const sink = await SmtpSink.start({ record: false });
let target: number | undefined;
let baseRecipients = 0;
let baseTransactions = 0;

function check(): void {
  if (target === undefined || sink.acceptedRecipients - baseRecipients < target) return;
  target = undefined;
  process.send?.({ type: 'reached', at: wallClockMs(), transactions: sink.acceptedTransactions - baseTransactions });
}

sink.on('change', check);
process.on('message', (request: Request) => {
  if (request.type === 'reset') {
    baseRecipients = sink.acceptedRecipients;
    baseTransactions = sink.acceptedTransactions;
    process.send?.({ type: 'reset-done' });
  } else {
    target = request.recipients;
    check();
  }
});
process.on('disconnect', () => void sink.close().then(() => process.exit(0)));
process.send?.({ type: 'listening', port: sink.port });
