/**
 * The outgoing benchmark's SMTP sink, in a process of its own so that its
 * CPU does not count against what it measures: accepts everything, counts,
 * and tells the parent (IPC) when a given number of recipients has arrived
 * and when (wall clock). Messages from the parent:
 *   {type:'await', recipients: N, id}   reply {type:'reached', id, at, transactions} once the count since the last reset reaches N
 *                                       (several awaits may be pending at once: each is answered on its own)
 *   {type:'reset'}                  zero the counters
 */
import { SmtpSink } from '../fixtures/smtp-sink.js';
import { wallClockMs } from './harness.js';

type Request = { type: 'await'; recipients: number; id: number } | { type: 'reset' };

const sink = await SmtpSink.start({ record: false });
/** The awaits not yet reached, by id. */
const targets = new Map<number, number>();
let baseRecipients = 0;
let baseTransactions = 0;

function check(): void {
  const at = wallClockMs();
  for (const [id, target] of targets) {
    if (sink.acceptedRecipients - baseRecipients < target) continue;
    targets.delete(id);
    process.send?.({ type: 'reached', id, at, transactions: sink.acceptedTransactions - baseTransactions });
  }
}

sink.on('change', check);
process.on('message', (request: Request) => {
  if (request.type === 'reset') {
    baseRecipients = sink.acceptedRecipients;
    baseTransactions = sink.acceptedTransactions;
    process.send?.({ type: 'reset-done' });
  } else {
    targets.set(request.id, request.recipients);
    check();
  }
});
process.on('disconnect', () => void sink.close().then(() => process.exit(0)));
process.send?.({ type: 'listening', port: sink.port });
