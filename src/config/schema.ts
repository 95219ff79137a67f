/**
 * Every configuration knob: its type, default and one line of documentation.
 * This schema is the single source: `switchyard config show` and the README's
 * configuration table are generated from it. Names follow Mailman and Postfix
 * where the meaning is the same (instances, maxRestarts, maximalQueueLifetime).
 */
import { z } from 'zod';
import cron from 'node-cron';
import { durationKnob, integerKnob } from './knob-types.js';
import { smtpSchema } from './smtp-schema.js';
import { authSchema } from './auth-schema.js';
import { dkimSchema } from './dkim-schema.js';
import { dnsSchema } from './dns-schema.js';
import { ingressSchema, lmtpSchema } from '../ingress/ingress-schema.js';
import { hostsSchema, mtaSchema } from '../mta/mta-schema.js';
import { httpSchema } from '../http/http-schema.js';
import { banPattern } from '../mail/ban-pattern.js';
import { addressProblem } from '../mail/address-syntax.js';

const duration = durationKnob;
const integer = integerKnob;

function cronExpression(defaultValue: string, description: string) {
  return z
    .string()
    .refine((value) => cron.validate(value), { message: 'not a valid cron expression (five or six fields, e.g. "*/15 * * * *")' })
    .default(defaultValue)
    .describe(description);
}

const powerOfTwo = z
  .number()
  .int()
  .min(1)
  .max(256)
  .refine((n) => (n & (n - 1)) === 0, { message: 'must be a power of two from 1 to 256' });

const octalMode = z
  .string()
  .regex(/^0?[0-7]{3}$/, 'an octal mode such as "007"')
  .transform((value) => Number.parseInt(value, 8));

export const runnerSchema = z
  .object({
    enabled: z.boolean().default(true).describe('start this runner at all'),
    instances: powerOfTwo.default(1).describe('processes, each owning one slice of the queue; a power of two from 1 to 256'),
    concurrency: integer(1, 1, 1000, 'entries each process works on at once'),
    queue: z.string().optional().describe('queue consumed; default: the runner name'),
    module: z.string().optional().describe('ES module whose default export is the runner class; built-in runners need none'),
    watchdogTimeout: duration('10m', 'kill and restart a runner holding an entry this long without progress'),
    maxRestores: integer(3, 1, 1000, 'times an entry may be recovered after crashes before it is quarantined in bad'),
    options: z.record(z.string(), z.unknown()).default({}).describe('runner-specific settings: for a built-in runner the `runner.NAME.options.*` rows (any other key is an error); another module checks its own at start'),
  })
  .strict();

export const configSchema = z
  .object({
    master: z
      .object({
        startTimeout: duration('30s', '`switchyard start` fails if a runner still starting reports no progress for this long'),
        stopTimeout: duration('30s', 'runners still busy this long after TERM are killed (their entries are recovered at next start)'),
        maxRestarts: integer(5, 1, 1_000_000, 'a runner that crashes this many times within restartWindow is no longer restarted'),
        restartWindow: duration('60s', 'the window for maxRestarts'),
        restartBackoff: duration('1s', 'delay before restarting a crashed runner, doubled on each consecutive crash; also the first delay before the LMTP and HTTP services try a taken port again'),
        restartBackoffMax: duration('1m', 'upper bound of those delays'),
      })
      .strict()
      .prefault({})
      .describe('the master process'),
    watchdog: z
      .object({
        heartbeatInterval: duration('5s', 'every runner and service sends the master a liveness heartbeat this often, from its event loop'),
        heartbeatTimeout: duration('30s', 'a runner or service that sends no heartbeat this long (stopped, or its event loop blocked) is killed and restarted'),
      })
      .strict()
      .refine((w) => w.heartbeatTimeout >= 2 * w.heartbeatInterval, {
        message: 'heartbeatTimeout must be at least twice heartbeatInterval (one late heartbeat must not kill a process)',
      })
      .prefault({})
      .describe('liveness of every supervised process'),
    queues: z
      .object({
        durability: z.enum(['fsync', 'none']).default('fsync').describe("'fsync' makes every accepted entry survive a power cut; 'none' is for tests"),
        umask: octalMode.prefault('007').describe('process umask: queue files come out 0660, directories 0770'),
        tempMaxAge: duration('1h', 'temp files of crashed writers older than this are removed'),
        rescanInterval: duration('1m', 'a waiting runner rescans its slice this often even without file events'),
      })
      .strict()
      .prefault({})
      .describe('the switchboards'),
    retry: z
      .object({
        initialDelay: duration('5m', 'first delay after a temporary failure'),
        maxDelay: duration('4h', 'the delay doubles after each failure up to this'),
        jitter: z.number().min(0).max(1).default(0.1).describe('each delay is randomly shortened or lengthened by up to this fraction, never past maxDelay'),
        maximalQueueLifetime: duration('5d', 'an entry still failing temporarily this long after its first failure goes to shunt'),
      })
      .strict()
      .prefault({})
      .describe('temporary failures'),
    pool: z
      .object({
        maxThreads: integer(2, 1, 64, 'worker threads per runner process for CPU-heavy steps'),
        taskTimeout: duration('30s', 'a CPU-heavy step running longer fails its entry (to shunt)'),
      })
      .strict()
      .prefault({})
      .describe('the piscina worker pool'),
    logging: z
      .object({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info').describe('pino log level'),
        destination: z.enum(['auto', 'files', 'stdout']).default('auto').describe("'auto': stdout with --foreground, else one file per process under logs/"),
      })
      .strict()
      .prefault({})
      .describe('logging'),
    cron: z
      .object({
        tempCleanup: cronExpression('*/15 * * * *', "when the scheduler service removes this host's stale temp files"),
        stats: cronExpression('*/5 * * * *', 'when the master logs one statistics line (each runner and service at debug level) and repeats every problem at error level'),
        bounceWarnings: cronExpression(
          '23 * * * *',
          'when the scheduler runs the bounce warnings pass (once for all hosts on one store): reminders to members disabled by bounces, removal after the last, stale scores reset',
        ),
        pendingRequests: cronExpression(
          '17 * * * *',
          'when the scheduler removes expired membership requests and tells owners of requests still waiting, and removes expired web login links and sessions (once for all hosts on one store)',
        ),
        digests: cronExpression(
          '* * * * *',
          "when the scheduler sends the digests due (a list's digestSizeThreshold reached or its digestSendPeriodic firing that minute) and finishes any a killed sender left (once for all hosts on one store)",
        ),
        heldExpiry: cronExpression('41 * * * *', "when the scheduler discards held posts older than their list's maxDaysToHold (once for all hosts on one store)"),
        listRefusals: cronExpression(
          '*/5 * * * *',
          'when the scheduler counts the destinations that refused a list in the last 24 hours (blocked, spam, policy, security bounces) for `switchyard status`',
        ),
        leaseTimeout: duration('1h', 'a job run claimed by one host and not finished keeps other hosts from later runs this long (the holder may have died)'),
      })
      .strict()
      .prefault({})
      .describe('periodic jobs of the scheduler service (and the master\'s stats line)'),
    store: z
      .object({
        busyTimeout: duration('5s', 'a write waits this long for another process holding the list store (switchyard.db), or PostgreSQL retries a transaction losing races to other writers this long, before failing temporarily'),
        path: z
          .string()
          .min(1)
          .optional()
          .describe('the SQLite file of the list store, relative to the home; default switchyard.db in the home (masters sharing one store name the same file)'),
        url: z
          .string()
          .regex(/^(postgres(ql)?:\/\/|sqlite:).+/i, 'a url postgres://user@host/database or sqlite:PATH')
          .optional()
          .describe('where the list store is: postgres://user@host/database (the store several hosts share; run `switchyard store migrate` first) or sqlite:PATH; wins over path; default the SQLite file'),
        poolSize: integer(4, 1, 100, 'PostgreSQL connections each switchyard process keeps at most (every runner slice is a process)'),
      })
      .strict()
      .prefault({})
      .describe('the list store'),
    membership: z
      .object({
        bans: z.array(banPattern).default([]).describe('site-wide bans: addresses (or ^regular expressions) that may subscribe to no list; each list adds its bannedAddresses'),
      })
      .strict()
      .prefault({})
      .describe('membership requests by mail (src/app/subscriptions.ts)'),
    site: z
      .object({
        owner: z
          .string()
          .superRefine((value, ctx) => {
            const problem = addressProblem(value);
            if (problem !== null) ctx.addIssue({ code: 'custom', message: `not an address: ${problem}` });
          })
          .optional()
          .describe("where notices for a list without owners or moderators go (held posts, bounces, -owner mail); default postmaster@ the list's domain"),
      })
      .strict()
      .prefault({})
      .describe('this switchyard site'),
    smtp: smtpSchema,
    auth: authSchema,
    dkim: dkimSchema,
    dns: dnsSchema,
    lmtp: lmtpSchema,
    ingress: ingressSchema,
    mta: mtaSchema,
    hosts: hostsSchema,
    http: httpSchema,
    runner: z.record(z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/, 'runner names: 1-32 of a-z, 0-9, -, _'), runnerSchema).default({}).describe('one table per runner: [runner.NAME]'),
  })
  .strict();

export type Config = z.output<typeof configSchema>;
export type RunnerConfig = z.output<typeof runnerSchema>;
