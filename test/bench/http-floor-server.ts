/**
 * The floor of the HTTP API benchmark (http-members.bench.ts): a bare
 * fastify route in its own process (as the HTTP service is), answering
 * `GET /floor/N` with the Nth page of JSON the API gave, from memory: no
 * store, no auth, no validation. Prints its port on stdout; exits on
 * SIGTERM. Argument: the file of pages (a JSON array of strings).
 */
import { readFileSync } from 'node:fs';
import Fastify from 'fastify';

const pages = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as string[];
const app = Fastify({ logger: false });
app.get('/floor/:page', async (request, reply) => {
  const body = pages[Number((request.params as { page: string }).page)];
  void reply.type('application/json; charset=utf-8');
  return body;
});
await app.listen({ host: '127.0.0.1', port: 0 });
const address = app.server.address();
process.stdout.write(`${typeof address === 'object' && address !== null ? address.port : 0}\n`);
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
