/**
 * The `[smtp]` section: how the outgoing runner reaches the smarthost.
 * Imported by schema.ts as one field; names follow nodemailer's SMTP options
 * (and Postfix's where nodemailer has none: destinationBackoff is the
 * analogue of Postfix marking a destination dead).
 */
import { z } from 'zod';
import { durationKnob, integerKnob } from './knob-types.js';

export const smtpSchema = z
  .object({
    host: z.string().min(1).default('127.0.0.1').describe('the smarthost every outgoing message is handed to'),
    port: integerKnob(25, 1, 65535, 'its port'),
    secure: z.boolean().default(false).describe('TLS from the first byte (port 465); false: plain, upgraded by STARTTLS when offered'),
    requireTLS: z.boolean().default(false).describe('refuse to send unless STARTTLS succeeds (otherwise it is used when the server offers it)'),
    ignoreTLS: z.boolean().default(false).describe('never use STARTTLS even when offered'),
    tlsRejectUnauthorized: z.boolean().default(true).describe('verify the server certificate; a failed verification is a temporary failure'),
    user: z.string().default('').describe('AUTH user name; empty: no AUTH'),
    password: z.string().default('').describe('AUTH password (`config show` prints it as ********; keep switchyard.toml 0640)'),
    maxConnections: integerKnob(5, 1, 1000, 'SMTP connections open at once per outgoing runner process'),
    maxMessages: integerKnob(100, 1, 1_000_000, 'transactions per connection before it is replaced'),
    maxRecipients: integerKnob(500, 1, 100_000, 'recipients per SMTP transaction in bulk mode (sorted by domain)'),
    connectionTimeout: durationKnob('30s', 'to establish the TCP connection (and TLS for secure)'),
    greetingTimeout: durationKnob('30s', 'for the server greeting after connecting'),
    socketTimeout: durationKnob('5m', 'inactivity limit on every command reply and on DATA: a hung MTA fails its transaction'),
    dataTimeout: durationKnob(
      '10m',
      'the longest one transaction may take, counted from handing it to the connection pool (a wait for a free connection and connecting included) to the reply to the end of DATA, even when bytes trickle (socketTimeout is only inactivity): past it the connection is closed and the recipients deferred',
    ),
    probeTimeout: durationKnob('5s', 'at start the outgoing runner tries the smarthost once (connect, EHLO, QUIT) for at most this long and `start` and `status` say whether it answers; 0 skips the check'),
    destinationBackoff: durationKnob('30s', 'after the smarthost is found down (refused, timed out, 421) no connection is tried for this long, doubled per further failure'),
    destinationBackoffMax: durationKnob('10m', 'upper bound of that backoff'),
    onMessageRejected: z
      .enum(['shunt', 'retry'])
      .default('shunt')
      .describe('where an entry goes when the MTA answers 5xx to MAIL FROM or DATA (a problem of the message or of our MTA: no bounce events)'),
  })
  .strict()
  .prefault({})
  .describe('outgoing delivery (the smarthost); the retry schedule is [retry]');

export type SmtpConfig = z.output<typeof smtpSchema>;
