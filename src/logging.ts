/**
 * pino loggers for the master and the runners. Every line carries the
 * process's identity (`runner`, `slice`, `pid`; entry loggers add `entry`).
 *
 * Destinations: a file under `<home>/logs/` (one per runner slice, and
 * `master.log`), reopened on SIGHUP so logrotate can rename it first; or
 * stdout (the foreground, systemd's journal), pretty-printed when stdout is a
 * terminal, one line per record. JSON lines carry `time` as ISO-8601 (UTC),
 * which people and `jq` read without converting epoch milliseconds.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import pino, { type Logger, type LevelWithSilent } from 'pino';

export interface LogSetup {
  logger: Logger;
  /** Reopen the log file (after logrotate renamed it); no-op on stdout. */
  reopen(): void;
  /** Write out what is buffered: call before exiting. */
  flush(): void;
}

export interface LogOptions {
  /** Where: a file path, or 'stdout'. */
  destination: string;
  level: LevelWithSilent;
  base: Record<string, unknown>;
}

export function logFilePath(logsDir: string, name: string, slice?: number, numSlices?: number): string {
  return join(logsDir, slice === undefined ? `${name}.log` : `${name}-${slice}of${numSlices}.log`);
}

/**
 * Errors are logged as objects under `err` (`log.warn({ err }, ...)`), never
 * as `err.message`: pino's error serializer then writes type, message, stack,
 * cause and our own fields (`code`, `temporary`), which is what an operator
 * greps for. It is pino's default too; named here so it cannot be lost.
 */
const serializers = { err: pino.stdSerializers.err };

export async function createLogger(options: LogOptions): Promise<LogSetup> {
  const base = { pid: process.pid, ...options.base };
  if (options.destination === 'stdout') {
    if (process.stdout.isTTY) {
      const { default: pretty } = await import('pino-pretty');
      const stream = pretty({ sync: true, colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'hostname', singleLine: true });
      const logger = pino({ level: options.level, base, serializers }, stream);
      return { logger, reopen: () => undefined, flush: () => undefined };
    }
    const stream = pino.destination({ dest: 1, sync: true });
    const logger = pino({ level: options.level, base, serializers, timestamp: pino.stdTimeFunctions.isoTime }, stream);
    return { logger, reopen: () => undefined, flush: () => undefined };
  }
  mkdirSync(join(options.destination, '..'), { recursive: true, mode: 0o770 });
  // Synchronous writes: a crash loses no line, and at queue rates the cost is
  // one write(2) per line, which the benchmarks include.
  const stream = pino.destination({ dest: options.destination, sync: true, mkdir: true });
  const logger = pino({ level: options.level, base, serializers, timestamp: pino.stdTimeFunctions.isoTime }, stream);
  return {
    logger,
    reopen: () => stream.reopen(),
    flush: () => undefined,
  };
}
