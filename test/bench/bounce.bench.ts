/**
 * The bounce benchmark: the issue's figures "bounce messages classified per
 * second, single process" and "the scoring pass over 100,000 members", each
 * beside a floor measured in the same run, plus precision and recall on the
 * bounce corpus.
 *
 * - classify: every corpus message (test/bounce/corpus/) through
 *   classifyMessage() (postal-mime, the DSN parser, every detector), in this
 *   process, round-robin; floor: mailparser's simpleParser alone on the same
 *   messages (the issue's floor: classifying must keep 0.8 of it), in passes
 *   over the corpus alternating with classify's (a loaded machine's drift
 *   hits both alike); a second row against postal-mime alone, whose ratio is
 *   the detectors' overhead.
 * - score: BENCH_BOUNCES bounces (one each for as many members, cycling) recorded and scored
 *   through applyBounce() (one IMMEDIATE transaction, synchronous=FULL, per
 *   bounce) into a list of BENCH_MEMBERS members; floor: the same SQL by hand
 *   (SELECT member, INSERT event, UPDATE member, one transaction each) with
 *   bare better-sqlite3.
 * - warnings pass: runWarningsPass() over the list of BENCH_MEMBERS members,
 *   1% of them disabled by bounces and due a reminder, 10% with stale
 *   scores; notices are built but not enqueued (the queue has its own
 *   benchmark); floor: the pass's two statements by hand (reset stale
 *   scores, select the disabled) with bare better-sqlite3.
 *
 *     node dist/test/bench/bounce.bench.js [--dir <path on the home's file system>]
 *
 * Scale with BENCH_MEMBERS (default 100000), BENCH_BOUNCES (default 5000),
 * BENCH_CLASSIFY_SECONDS (default 3) and BENCH_ROUNDS (default 3).
 *
 * Files: only below fresh `switchyard-bench-*` directories, each removed when
 * its phase ends (see harness.ts).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { simpleParser } from 'mailparser';
import PostalMime from 'postal-mime';
import { MAX_PARSE_BYTES, POSTAL_MIME_OPTIONS } from '../../runners/bounce/bounce-message.js';
import { classifyMessage } from '../../runners/bounce/classify.js';
import { applyBounce } from '../../src/bounce/processor.js';
import { DAY_MS } from '../../src/bounce/scoring.js';
import { runWarningsPass } from '../../src/bounce/warnings.js';
import { parseAddress } from '../../src/store/address.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import { loadCorpus, score, truthOf } from '../bounce/corpus.js';
import { envInt, freshDir, median, removeDir, Report, syncDisks, type Row } from './harness.js';

const MEMBERS = envInt('BENCH_MEMBERS', 100_000);
const BOUNCES = envInt('BENCH_BOUNCES', 5_000);
const CLASSIFY_SECONDS = envInt('BENCH_CLASSIFY_SECONDS', 3);
const ROUNDS = envInt('BENCH_ROUNDS', 3);
const LIST = 'bench@lists.example.org';
const START = Date.parse('2025-03-03T09:00:00Z');

const report = new Report('bounce');
const corpus = loadCorpus().map((entry) => ({ ...entry, raw: readFileSync(entry.path) }));

function member(i: number): string {
  return `subscriber.${i}@example${i % 211}.org`;
}

type Work = (raw: Buffer, envelopeRecipient: string | undefined) => Promise<unknown>;

/** Milliseconds for one pass of `work` over the corpus. */
async function corpusPass(work: Work): Promise<number> {
  const started = performance.now();
  for (const entry of corpus) await work(entry.raw, entry.expected.envelopeRecipient);
  return performance.now() - started;
}

/**
 * Messages per second of `work` and of `floor`, over about CLASSIFY_SECONDS each, in alternating passes
 * over the corpus (which goes first alternates too): a change in the machine's load between the two
 * measurements would otherwise show up as a change in the ratio.
 */
async function rates(work: Work, floor: Work): Promise<{ work: number; floor: number }> {
  let workMs = 0;
  let floorMs = 0;
  let passes = 0;
  while (workMs + floorMs < 2 * CLASSIFY_SECONDS * 1000) {
    if (passes % 2 === 0) {
      workMs += await corpusPass(work);
      floorMs += await corpusPass(floor);
    } else {
      floorMs += await corpusPass(floor);
      workMs += await corpusPass(work);
    }
    passes++;
  }
  const messages = passes * corpus.length;
  return { work: messages / (workMs / 1000), floor: messages / (floorMs / 1000) };
}

const classify = (raw: Buffer, envelopeRecipient: string | undefined) => classifyMessage(raw, envelopeRecipient === undefined ? {} : { envelopeRecipient });
const postalParseOnly = (raw: Buffer) => PostalMime.parse(raw.subarray(0, MAX_PARSE_BYTES), POSTAL_MIME_OPTIONS);
const parseOnly = (raw: Buffer) =>
  simpleParser(raw.subarray(0, MAX_PARSE_BYTES), { keepDeliveryStatus: true, skipTextToHtml: true, skipTextLinks: true, skipImageLinks: true, maxHtmlLengthToParse: MAX_PARSE_BYTES });

/** A store holding the list and MEMBERS members. */
async function memberStore(dir: string): Promise<{ store: SqliteStore; file: string }> {
  const file = join(dir, 'switchyard.db');
  const store = new SqliteStore({ file });
  await store.createList({ address: LIST, settings: { bounceScoreThreshold: 1000 } });
  for (let from = 0; from < MEMBERS; from += 5000) {
    const batch = [];
    for (let i = from; i < Math.min(MEMBERS, from + 5000); i++) batch.push({ address: member(i) });
    await store.addMembers(LIST, batch);
  }
  return { store, file };
}

async function timeScoring(): Promise<number> {
  const dir = await freshDir('bounce-score');
  try {
    const { store } = await memberStore(dir);
    const list = await store.getList(LIST);
    syncDisks();
    const started = performance.now();
    for (let i = 0; i < BOUNCES; i++) {
      await applyBounce(store, list, { address: member((i * 7919) % MEMBERS), permanent: i % 3 !== 0, at: new Date(START + i), source: `<b${i}@mx.example>` });
    }
    const seconds = (performance.now() - started) / 1000;
    await store.close();
    return BOUNCES / seconds;
  } finally {
    await removeDir(dir);
  }
}

async function timeScoringFloor(): Promise<number> {
  const dir = await freshDir('bounce-score-floor');
  try {
    const { store, file } = await memberStore(dir);
    await store.close();
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    const select = db.prepare('SELECT id, bounce_score FROM members WHERE list_id = 1 AND role = ? AND address_key = ?');
    const insert = db.prepare('INSERT INTO bounce_events (list_id, address, address_key, at, permanent, source) VALUES (1, ?, ?, ?, ?, ?)');
    const update = db.prepare('UPDATE members SET bounce_score = ?, last_bounce_at = ? WHERE id = ?');
    const keys = Array.from({ length: BOUNCES }, (_, i) => parseAddress(member((i * 7919) % MEMBERS)));
    syncDisks();
    const started = performance.now();
    for (let i = 0; i < BOUNCES; i++) {
      const key = keys[i]!;
      db.transaction(() => {
        const row = select.get('member', key.key) as { id: number; bounce_score: number };
        const at = new Date(START + i).toISOString();
        insert.run(key.address, key.key, at, 1, `<b${i}@mx.example>`);
        update.run(row.bounce_score + 1, at, row.id);
      }).immediate();
    }
    const seconds = (performance.now() - started) / 1000;
    db.close();
    return BOUNCES / seconds;
  } finally {
    await removeDir(dir);
  }
}

/** The list prepared for the warnings pass: 1% disabled and due, 10% with stale scores. */
async function warningsStore(dir: string): Promise<{ store: SqliteStore; file: string; now: number }> {
  const { store, file } = await memberStore(dir);
  await store.close();
  const db = new Database(file);
  const now = START + 30 * DAY_MS;
  db.prepare(`UPDATE members SET delivery_status = 'by_bounces', bounce_score = 5, last_bounce_at = ?, last_bounce_warning_at = ? WHERE id % 100 = 0`).run(
    new Date(START).toISOString(),
    new Date(START).toISOString(),
  );
  db.prepare(`UPDATE members SET bounce_score = 2, last_bounce_at = ? WHERE id % 10 = 1`).run(new Date(START).toISOString());
  db.close();
  return { store: new SqliteStore({ file }), file, now };
}

async function timeWarnings(): Promise<number> {
  const dir = await freshDir('bounce-warnings');
  try {
    const { store, now } = await warningsStore(dir);
    let notices = 0;
    syncDisks();
    const started = performance.now();
    const result = await runWarningsPass({ store, now: () => now, enqueue: async () => void notices++ });
    const seconds = (performance.now() - started) / 1000;
    await store.close();
    if (result.warned.length !== MEMBERS / 100 || notices !== MEMBERS / 100) throw new Error(`warned ${result.warned.length}, expected ${MEMBERS / 100}`);
    return seconds;
  } finally {
    await removeDir(dir);
  }
}

async function timeWarningsFloor(): Promise<number> {
  const dir = await freshDir('bounce-warnings-floor');
  try {
    const { store, file, now } = await warningsStore(dir);
    await store.close();
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    syncDisks();
    const started = performance.now();
    db.transaction(() => {
      db.prepare(`UPDATE members SET bounce_score = 0 WHERE list_id = 1 AND bounce_score > 0 AND role = 'member' AND delivery_status = 'enabled' AND last_bounce_at < ?`).run(
        new Date(now - 7 * DAY_MS).toISOString(),
      );
    }).immediate();
    const disabled = db.prepare(`SELECT id FROM members WHERE list_id = 1 AND role = 'member' AND delivery_status = 'by_bounces'`).all() as { id: number }[];
    const update = db.prepare('UPDATE members SET bounce_warnings_sent = 1, last_bounce_warning_at = ? WHERE id = ?');
    for (const row of disabled) db.transaction(() => update.run(new Date(now).toISOString(), row.id)).immediate();
    const seconds = (performance.now() - started) / 1000;
    db.close();
    return seconds;
  } finally {
    await removeDir(dir);
  }
}

/** value / floor per round: for rates, above 1 is faster than the floor; for times, below 1. */
function ratioRow(name: string, unit: string, values: number[], floors: number[]): Row {
  const each = values.map((value, i) => value / (floors[i] as number));
  return { name, unit, value: median(values), floor: median(floors), ratio: median(each), rounds: { value: values, floor: floors, ratio: each } };
}

report.setting('corpus messages', corpus.length);
report.setting('members', MEMBERS);
report.setting('bounces scored', BOUNCES);
report.setting('rounds', ROUNDS);
report.printHeader();

// Precision and recall first: a fast classifier that is wrong is no use.
const results = [];
for (const entry of corpus) results.push({ found: await classify(entry.raw, entry.expected.envelopeRecipient), truth: truthOf(entry.expected) });
const quality = score(results);
report.section(`precision and recall on the corpus (${corpus.length} messages: ${corpus.filter((e) => e.expected.notBounce).length} not bounces, ${corpus.filter((e) => e.expected.truth).length} known misses)`, [
  'per address and class: a delay reported as permanent counts as one false positive and one false negative',
]);
report.row({ name: 'precision', unit: '', value: quality.precision, target: { text: '= 1.00', pass: quality.falsePositives === 0 } });
report.row({ name: 'recall', unit: '', value: quality.recall });
report.note(`true positives ${quality.truePositives}, false positives ${quality.falsePositives}, false negatives ${quality.falseNegatives}`);

report.section(`classify: corpus messages round-robin, in-process, ~${CLASSIFY_SECONDS} s per measurement, alternating passes with the floor`, [
  "floor (the issue's): mailparser simpleParser alone on the same messages; ratio: classify rate / parse rate, target at least 0.80",
  'second floor: postal-mime alone with the options classify parses with (the parser it uses): the ratio is what the detectors cost',
]);
const classified: number[] = [];
const parsed: number[] = [];
const classifiedAgain: number[] = [];
const postalParsed: number[] = [];
for (let round = 0; round < ROUNDS; round++) {
  const measured = await rates(classify, parseOnly);
  classified.push(measured.work);
  parsed.push(measured.floor);
  const overhead = await rates(classify, postalParseOnly);
  classifiedAgain.push(overhead.work);
  postalParsed.push(overhead.floor);
}
const againstMailparser = ratioRow('classified messages/s', 'msg/s', classified, parsed);
report.row({ ...againstMailparser, target: { text: '>= 0.80 of mailparser', pass: (againstMailparser.ratio ?? 0) >= 0.8 } });
report.row(ratioRow('classified /s vs postal-mime alone', 'msg/s', classifiedAgain, postalParsed));

report.section(`score: ${BOUNCES} bounces recorded and scored, list of ${MEMBERS} members, one transaction each (synchronous=FULL)`, [
  'floor: the same SELECT, INSERT, UPDATE per bounce with bare better-sqlite3; ratio: rate / floor rate',
]);
const scored: number[] = [];
const scoredFloor: number[] = [];
for (let round = 0; round < ROUNDS; round++) {
  scored.push(await timeScoring());
  scoredFloor.push(await timeScoringFloor());
}
report.row(ratioRow('bounces scored/s', '/s', scored, scoredFloor));

report.section(`warnings pass over ${MEMBERS} members (1% disabled and due a reminder, 10% stale scores)`, [
  "floor: the pass's statements by hand with bare better-sqlite3 (stale reset, select disabled, one update per reminder); ratio: time / floor time",
]);
const pass: number[] = [];
const passFloor: number[] = [];
for (let round = 0; round < ROUNDS; round++) {
  pass.push(await timeWarnings());
  passFloor.push(await timeWarningsFloor());
}
report.row(ratioRow('warnings pass', 's', pass, passFloor));

await report.finish();
