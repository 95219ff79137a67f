/** Loopback helpers shared by tests and benchmarks (node built-ins only, so benchmarks can import it). */
import { createServer } from 'node:net';

/** A loopback port free right now (bound to port 0, then closed): for a listener to take, or as one nothing listens on. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}
