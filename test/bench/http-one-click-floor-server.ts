/**
 * The floor of the one-click benchmark (http-one-click.bench.ts): a bare
 * fastify in its own process (as the HTTP service is) with form bodies,
 * answering `POST /u/:token` with a constant HTML page: no token check, no
 * store write, no page template. Prints its port on stdout; exits on SIGTERM.
 */
import formbody from '@fastify/formbody';
import Fastify from 'fastify';

const PAGE = '<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>Unsubscribed</title></head><body><h1>Unsubscribed</h1><p>You will get no more posts from this list.</p></body></html>\n';
const app = Fastify({ logger: false });
await app.register(formbody);
app.post('/u/:token', async (_request, reply) => {
  void reply.type('text/html; charset=utf-8');
  return PAGE;
});
await app.listen({ host: '127.0.0.1', port: 0 });
const address = app.server.address();
process.stdout.write(`${typeof address === 'object' && address !== null ? address.port : 0}\n`);
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
