/**
 * The floor of the web admin benchmark (web-admin.bench.ts): a bare fastify
 * process answering `GET /floor/page` with the moderation queue page the
 * service rendered (the same HTML bytes, from memory) and `POST
 * /floor/approve/N` with an approval answer of the same size: no session,
 * no store, no template. Prints its port on stdout; exits on SIGTERM.
 * Arguments: the HTML file, the approval answer file.
 */
import { readFileSync } from 'node:fs';
import Fastify from 'fastify';

const page = readFileSync(process.argv[2]!, 'utf8');
const approval = readFileSync(process.argv[3]!, 'utf8');
const app = Fastify({ logger: false });
app.get('/floor/page', async (_request, reply) => {
  void reply.type('text/html; charset=utf-8');
  return page;
});
app.post('/floor/approve/:id', async (_request, reply) => {
  void reply.type('application/json; charset=utf-8');
  return approval;
});
await app.listen({ host: '127.0.0.1', port: 0 });
const address = app.server.address();
process.stdout.write(`${typeof address === 'object' && address !== null ? address.port : 0}\n`);
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
