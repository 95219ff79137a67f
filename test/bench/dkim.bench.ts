/**
 * The DKIM benchmark (issue 17 §3): how much signing costs.
 *
 * - copies signed per second, one core (this process, one thread): a
 *   personalised copy of a 4 KiB post (its own List-Unsubscribe and footer)
 *   signed with MessageSigner.signCopy() (canonicalisation, body hash of the
 *   footer over the post's saved hash state, header selection, the signature
 *   field), for RSA 2048 and Ed25519; floor: bare node:crypto sign() over
 *   the same canonicalised header data of one copy (Ed25519: over its
 *   SHA-256, as RFC 8463 signs). The ratio is what our side of signing
 *   leaves of the bare signature rate.
 * - personalised delivery of one post to BENCH_DKIM_MEMBERS members (VERP,
 *   a header and a footer per copy) through a real master to a loopback SMTP
 *   sink (its own process), recipients/s with Ed25519 signing, with RSA
 *   signing, and without; target: Ed25519 at least 0.70 of unsigned.
 *
 *     node dist/test/bench/dkim.bench.js [--dir <path>]
 *
 * Scale with BENCH_DKIM_SECONDS (2), BENCH_ROUNDS (3), BENCH_DKIM_MEMBERS
 * (10000), BENCH_DKIM_DELIVERY_ROUNDS (2).
 * Files: a fresh `switchyard-bench-*` home per delivery run, removed after it.
 */
import { createHash, generateKeyPairSync, sign as cryptoSign } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Switchboard } from '../../queues/index.js';
import { outMetadata } from '../../runners/outgoing/out-entry.js';
import render from '../../runners/outgoing/render-worker.js';
import { unsubscribeToken } from '../../src/app/one-click.js';
import { SiteSecrets } from '../../src/http/site-secret.js';
import { DEFAULT_SIGNED_HEADERS } from '../../src/config/dkim-schema.js';
import { parseFields, splitMessage } from '../../src/mail/dkim/canonical.js';
import { generateKey } from '../../src/mail/dkim/keygen.js';
import { MessageSigner, selectHeaders, type SigningSpec } from '../../src/mail/dkim/signer.js';
import { benchMessage, benchRecipients } from './outgoing-data.js';
import { envInt, freshDir, median, removeDir, Report, switchyardCli, syncDisks, wallClockMs, type Row } from './harness.js';
import { startSinkProcess, type SinkProcess } from './sink-process-client.js';

const SECONDS = envInt('BENCH_DKIM_SECONDS', 2);
const ROUNDS = envInt('BENCH_ROUNDS', 3);
const MEMBERS = envInt('BENCH_DKIM_MEMBERS', 10_000);
const DELIVERY_ROUNDS = envInt('BENCH_DKIM_DELIVERY_ROUNDS', 2);
const LIST = 'bench@lists.example.org';
// The fields a list with one-click unsubscription gets on each copy (src/app/one-click.ts): the runner signs a token per recipient.
const PERSONALIZE = {
  headers: { 'List-Unsubscribe': '<https://lists.example.org/u/{unsubscribeToken}>, <mailto:bench-leave@lists.example.org>', 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' },
  footer: '-- \nYou receive this as {address} from {list}.\n',
};

const report = new Report('dkim');

function ratioRow(name: string, unit: string, values: number[], floors: number[], target?: (ratio: number) => Row['target']): Row {
  const ratios = values.map((v, i) => v / floors[i]!);
  const ratio = median(ratios);
  return { name, unit, value: median(values), floor: median(floors), ratio, ...(target ? { target: target(ratio) } : {}), rounds: { value: values, floor: floors, ratio: ratios } };
}

/** Calls of `work` per second over about SECONDS. */
function rate(work: (i: number) => unknown): number {
  let done = 0;
  const started = performance.now();
  const until = started + SECONDS * 1000;
  while (performance.now() < until) {
    for (let k = 0; k < 50; k++) work(done++);
  }
  return done / ((performance.now() - started) / 1000);
}

async function signingRates(): Promise<void> {
  const message = benchMessage();
  const recipients = benchRecipients(1000, 0);
  const secrets = SiteSecrets.fromBytes([{ id: '0badcafe', secret: Buffer.alloc(32, 7) }]);
  const copies = await render({ message, recipients, list: LIST, personalize: PERSONALIZE, unsubscribeTokens: recipients.map((address) => unsubscribeToken(secrets, LIST, address)) });
  for (const type of ['rsa', 'ed25519'] as const) {
    const pair = type === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ed25519');
    const pem = pair.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    const spec: SigningSpec = { domain: 'lists.example.org', keys: [{ algorithm: type === 'rsa' ? 'rsa-sha256' : 'ed25519-sha256', selector: 's1', pem }], signedHeaders: [...DEFAULT_SIGNED_HEADERS] };
    // The floor's input: the canonical header data of one copy, as our signer hashes it (the signature field itself is a few hundred bytes more).
    const copy = copies[0]!;
    const fields = [...parseFields(Buffer.from(copy.head).toString('latin1')), ...splitMessage(message.toString('latin1')).fields];
    const input = Buffer.from(selectHeaders(fields, spec.signedHeaders).canonical, 'latin1');
    const key = pair.privateKey;
    const ours: number[] = [];
    const floors: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const signer = new MessageSigner(message, spec);
      ours.push(rate((i) => signer.signCopy(copies[i % copies.length]!.head, copies[i % copies.length]!.foot)));
      floors.push(rate(() => (type === 'rsa' ? cryptoSign('sha256', input, key) : cryptoSign(null, createHash('sha256').update(input).digest(), key))));
    }
    report.row(ratioRow(`${type === 'rsa' ? 'RSA 2048' : 'Ed25519'} personalised copies signed/s`, '/s', ours, floors));
  }
}

type Signing = 'off' | 'rsa' | 'ed25519';

/**
 * Recipients/s of one post to MEMBERS members, through a real master:
 * personalised (VERP, the one-click fields and a footer per copy, each copy
 * signed), or bulk (one copy signed once: a list with oneClickUnsubscribe off).
 */
async function delivery(sink: SinkProcess, signing: Signing, mode: 'personalised' | 'bulk' = 'personalised'): Promise<number> {
  await sink.reset();
  syncDisks();
  const home = await freshDir('dkim');
  try {
    let dkim = '';
    if (signing !== 'off') {
      generateKey({ domain: 'lists.example.org', selector: 's1', type: signing, dir: join(home, 'dkim'), force: false });
      dkim = `\n[dkim.domains."lists.example.org"]\nselector = "s1"\nkeys = ["dkim/lists.example.org.s1.pem"]\n`;
    }
    // No LMTP listener (the bench enqueues on `out` itself): port 8024 may be another's.
    await writeFile(join(home, 'switchyard.toml'), `[logging]\ndestination = "files"\nlevel = "warn"\n\n[http]\nenabled = false\n\n[runner.lmtp]\nenabled = false\n\n[smtp]\nport = ${sink.port}\nmaxConnections = 5\n${dkim}`);
    const started = await switchyardCli(home, 'start');
    try {
      // Inside the try: a master that started degraded is stopped too.
      if (started.code !== 0) throw new Error(`master did not start: ${started.output}`);
      const out = new Switchboard({ root: join(home, 'queues'), name: 'out' });
      const metadata = outMetadata({ listId: LIST, sender: 'bench-bounces@lists.example.org', recipients: benchRecipients(MEMBERS, 0), listPosting: LIST, ...(mode === 'bulk' ? {} : { verp: true, personalize: PERSONALIZE }) });
      const reached = sink.reached(MEMBERS);
      const t0 = wallClockMs();
      await out.enqueue(benchMessage(), metadata);
      const { at } = await reached;
      return MEMBERS / ((at - t0) / 1000);
    } finally {
      await switchyardCli(home, 'stop');
    }
  } finally {
    await removeDir(home);
  }
}

async function deliveries(): Promise<void> {
  const sink = await startSinkProcess();
  try {
    const figures: Record<Signing, number[]> = { off: [], rsa: [], ed25519: [] };
    const bulk: number[] = [];
    for (let round = 0; round < DELIVERY_ROUNDS; round++) {
      // Interleaved, so load on the machine falls on each alike.
      for (const signing of ['off', 'ed25519', 'rsa'] as const) figures[signing].push(await delivery(sink, signing));
      bulk.push(await delivery(sink, 'ed25519', 'bulk'));
    }
    report.row({ name: 'unsigned recipients/s', unit: '/s', value: median(figures.off), rounds: { value: figures.off } });
    report.row(ratioRow('Ed25519-signed recipients/s', '/s', figures.ed25519, figures.off, (ratio) => ({ text: 'ratio >= 0.70', pass: ratio >= 0.7 })));
    report.row(ratioRow('RSA-2048-signed recipients/s', '/s', figures.rsa, figures.off));
    // What one-click unsubscription costs a list: its posts go personalised and signed per copy instead of bulk and signed once.
    report.row(ratioRow('one-click cost: Ed25519 personalised / Ed25519 bulk (one-click off) recipients/s', '/s', figures.ed25519, bulk));
  } finally {
    sink.child.kill();
  }
}

report.setting('seconds per measurement', SECONDS);
report.setting('rounds', ROUNDS);
report.setting('members', MEMBERS);
report.setting('delivery rounds', DELIVERY_ROUNDS);
report.printHeader();
report.section('copies signed per second, one core (in process), 4 KiB post, personalised List-Unsubscribe and footer', [
  'floor: bare node:crypto sign() over the same canonical header data of one copy (Ed25519: over its SHA-256)',
]);
await signingRates();
report.section(`personalised (VERP, header and footer) delivery of one post to ${MEMBERS} members through a real master, signing on vs off`, [
  'ratio: signed / unsigned recipients/s in the same round; target for Ed25519 >= 0.70; RSA reported as measured',
]);
await deliveries();
await report.finish();
