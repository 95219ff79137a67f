/** Loopback helpers shared by tests and benchmarks (node built-ins only, so benchmarks can import it). */
import { readFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';

/**
 * A loopback port free right now: for a listener (often a child process) to
 * take, or as one nothing listens on.
 *
 * Not the kernel's port 0: that is a port of the ephemeral range, which any
 * outgoing connection on the machine may take as its local port between this
 * check and the child's bind (seen under load: EADDRINUSE at a test's start).
 * Ports are handed out below the ephemeral range instead, where only
 * listeners live: each vitest worker from its own slice of it, from a random
 * start (two suites may run at once), one after another, each checked free
 * by binding it. Where the machine leaves no room below its ephemeral range,
 * port 0 as before.
 */
export async function freePort(): Promise<number> {
  const range = listenerRange();
  if (range === null) return kernelPort();
  for (let tries = 0; tries < range.size; tries++) {
    const port = range.start + ((range.next++ - range.start) % range.size);
    if (await bindable(port)) return port;
  }
  return kernelPort();
}

interface PortRange {
  start: number;
  size: number;
  /** The next candidate (may run past the end: taken modulo size). */
  next: number;
}

let cached: PortRange | null | undefined;

/** This process's slice of the ports below the ephemeral range (null: no room). */
function listenerRange(): PortRange | null {
  if (cached !== undefined) return cached;
  let ephemeralStart = 32768;
  try {
    ephemeralStart = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
  } catch {
    // Not Linux: the usual default.
  }
  const low = 10_000;
  const slices = 8;
  const sliceSize = Math.floor((ephemeralStart - low) / slices);
  if (!Number.isFinite(sliceSize) || sliceSize < 200) return (cached = null);
  const worker = Number(process.env.VITEST_POOL_ID ?? process.env.VITEST_WORKER_ID ?? 0) % slices;
  const start = low + worker * sliceSize;
  return (cached = { start, size: sliceSize, next: start + Math.floor(Math.random() * sliceSize) });
}

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

function kernelPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

/** The greeting of the SMTP or LMTP server on 127.0.0.1:`port`, then QUIT: proof the port is served (one session). */
export function serverGreeting(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    socket.setEncoding('utf8');
    socket.once('data', (text: string) => {
      socket.end('QUIT\r\n');
      resolve(text);
    });
    socket.once('error', reject);
  });
}
