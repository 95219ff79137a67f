/**
 * Slow clients against the HTTP service of a real master with `[http]
 * requestTimeout = "2s"`: a client trickling its header fields (slowloris)
 * or its body, or sending nothing at all, is cut off (408 in the JSON error
 * shape, then the socket closed) long before it would have finished, while
 * a client slow but within the timeout is served. Raw sockets to 127.0.0.1;
 * each test waits for the socket's close event.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from 'node:net';
import { once } from 'node:events';
import { freePort } from '../support/net.js';
import { builtInRunnersOff, makeHome, removeHome, schedulerOff, startMaster, testConfig, type MasterHandle } from '../master/harness.js';
import { nodeTimeouts } from '../../src/http/server.js';

const REQUEST_TIMEOUT_MS = 2_000;
/** How long the slow clients below would go on: many times the timeout, so only the server's cut ends them early. */
const TRICKLE_SPAN_MS = 15_000;
const DRIP_MS = 200;

let home: string;
let master: MasterHandle;
let port: number;

beforeAll(async () => {
  port = await freePort();
  // The HTTP service alone: no queue runner and no scheduler (each a node process to start, ~0.3 s of CPU); these tests send no mail.
  home = await makeHome(testConfig(`[http]\nport = ${port}\nrequestTimeout = "2s"\n\n[smtp]\nprobeTimeout = 0\n\n${builtInRunnersOff()}\n${schedulerOff()}`));
  master = await startMaster(home);
}, 240_000);

afterAll(async () => {
  await master?.stop();
  if (home !== undefined) await removeHome(home);
});

interface Trickled {
  /** What the server sent before it closed the connection. */
  answer: string;
  /** Whether the client got to send its whole request (the server did not cut it off first). */
  finished: boolean;
  /** From the first byte written to the close. */
  elapsedMs: number;
}

/**
 * Write `head` at once, then `drip` every `dripMs` until `spanMs` have
 * passed, then `tail`; resolves when the server closes the connection.
 */
async function trickle(head: string, drip: string, tail: string, spanMs = TRICKLE_SPAN_MS, dripMs = DRIP_MS): Promise<Trickled> {
  const socket = connect(port, '127.0.0.1');
  let answer = '';
  socket.setEncoding('utf8').on('data', (chunk: string) => (answer += chunk));
  // The server may reset the connection after its answer: the close event follows either way.
  socket.on('error', () => undefined);
  await once(socket, 'connect');
  const closed = once(socket, 'close');
  let finished = false;
  const started = performance.now();
  if (head !== '') socket.write(head);
  const timer = setInterval(() => {
    if (!socket.writable || finished) return;
    if (performance.now() - started >= spanMs) {
      finished = true;
      if (tail !== '') socket.write(tail);
      return;
    }
    if (drip !== '') socket.write(drip);
  }, dripMs);
  try {
    await closed;
  } finally {
    clearInterval(timer);
  }
  return { answer, finished, elapsedMs: performance.now() - started };
}

function errorCodeOf(answer: string): string | undefined {
  const body = answer.slice(answer.indexOf('\r\n\r\n') + 4);
  return (JSON.parse(body) as { error?: { code?: string } }).error?.code;
}

describe("node's timeouts for http.requestTimeout", () => {
  it('headers within the request timeout (60 s at most, node\'s default), checked four times per timeout, at least a second apart', () => {
    expect(nodeTimeouts(30_000)).toEqual({ requestTimeout: 30_000, headersTimeout: 30_000, connectionsCheckingInterval: 7_500 });
    expect(nodeTimeouts(300_000)).toEqual({ requestTimeout: 300_000, headersTimeout: 60_000, connectionsCheckingInterval: 75_000 });
    expect(nodeTimeouts(2_000)).toEqual({ requestTimeout: 2_000, headersTimeout: 2_000, connectionsCheckingInterval: 1_000 });
    // 0: no request timeout; node's own defaults for the rest.
    expect(nodeTimeouts(0)).toEqual({ requestTimeout: 0, headersTimeout: 60_000, connectionsCheckingInterval: 30_000 });
  });
});

describe('slow clients', () => {
  it('a client trickling its header fields (slowloris) gets 408 SY_API_TIMEOUT and a closed connection, not before requestTimeout', async () => {
    const cut = await trickle('GET /api/v1/system/version HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n', 'X-Slow: a\r\n', '\r\n');
    expect(cut.finished).toBe(false);
    expect(cut.answer).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    expect(errorCodeOf(cut.answer)).toBe('SY_API_TIMEOUT');
    expect(cut.elapsedMs).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS - 50);
  }, 60_000);

  it('a client trickling its body gets 408 SY_API_TIMEOUT and a closed connection', async () => {
    const head = 'POST /api/v1/lists HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\nConnection: close\r\n\r\n';
    const cut = await trickle(head, ' ', '');
    expect(cut.finished).toBe(false);
    expect(cut.answer).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    expect(errorCodeOf(cut.answer)).toBe('SY_API_TIMEOUT');
  }, 60_000);

  it('a connection that sends nothing is closed', async () => {
    const cut = await trickle('', '', '');
    expect(cut.finished).toBe(false);
    // Closed by the idle timeout with no answer, or answered 408: never left open.
    expect(cut.answer === '' || cut.answer.startsWith('HTTP/1.1 408 ')).toBe(true);
  }, 60_000);

  it('a client slow but within requestTimeout is served', async () => {
    const served = await trickle('GET /api/v1/system/version HTTP/1.1\r\n', 'X-Slow: a\r\n', 'Host: 127.0.0.1\r\nConnection: close\r\n\r\n', 600, 150);
    expect(served.finished).toBe(true);
    expect(served.answer).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
  }, 60_000);
});
