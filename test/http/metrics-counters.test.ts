/**
 * The work counters (src/work-counters.ts) from the runners that count to
 * `switchyard status` and `/metrics`, on a real master: a post over LMTP to
 * a list whose three members the SMTP sink answers 250, 451 and 550 at RCPT
 * TO, and one LMTP RCPT to an address no list has. Once everything has
 * settled, `status --json`, `status` and `/metrics` show the exact counts:
 * recipients by reply class (and the notice to the member the 550 disabled),
 * the bounce scored and the member disabled, the LMTP session and its
 * reject, the post accepted, the notice sent. Then the LMTP service and the
 * outgoing runner are SIGKILLed: restarted, their processes count from 0,
 * and the totals stay; the next LMTP session (an unknown address, an
 * oversize and an empty message) adds to them.
 *
 * Also, without a master: what WorkCounters sends, what the master takes
 * from it (only defined counters, only counts), and the README's table.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { afterAll, describe, expect, it } from 'vitest';
import { SmtpSink } from '../fixtures/smtp-sink.js';
import { LmtpClient } from '../ingress/lmtp-client.js';
import { freePort } from '../support/net.js';
import { readmeSection } from '../support/readme-sections.js';
import { makeHome, MASTER_WAIT_MS, removeHome, ROOT, runCli, startMaster, testConfig, type MasterHandle } from '../master/harness.js';
import { openStore } from '../../src/store/index.js';
import type { StatusReport } from '../../src/master/protocol.js';
import { addCounts, countersLine, countersReference, sumCounts, WorkCounters, zeroCounters, type CounterValues } from '../../src/work-counters.js';

const LIST = 'team@lists.example.org';
const ANN = 'ann@example.org';
/** The sink answers 451 to this one at RCPT TO: deferred. */
const TEMP = 'temp@example.net';
/** The sink answers 550 to this one the first time (the post), 250 after (the notice that it was disabled). */
const GONE = 'gone@example.com';
const UNKNOWN = 'nosuch@lists.example.org';
const TIMEOUT = 400_000;

let master: MasterHandle | undefined;
let home: string | undefined;
let sink: SmtpSink | undefined;

afterAll(async () => {
  await master?.stop();
  await sink?.close();
  if (home) await removeHome(home);
});

/** Every counter at 0 but those given. */
function expected(counts: Partial<{ [K in keyof CounterValues]: unknown }>): CounterValues {
  return addCounts(zeroCounters(), counts);
}

/** The `/metrics` lines of the work counters (`switchyard_..._total`), as `name{labels} value`. */
async function counterLines(base: string): Promise<string[]> {
  const response = await fetch(`${base}/metrics`);
  expect(response.status).toBe(200);
  const text = await response.text();
  return text.split('\n').filter((line) => /^switchyard_\w+_total[{ ]/.test(line));
}

/** One LMTP session, as Postfix's lmtp client would make it: what the service accepted and refused. */
async function lmtp(port: number, from: string, to: string[], raw: string): Promise<{ accepted: string[]; rejected: string[] }> {
  const transport = nodemailer.createTransport({ lmtp: true, host: '127.0.0.1', port });
  try {
    const info = await transport.sendMail({ envelope: { from, to }, raw });
    return { accepted: info.accepted.map(String), rejected: info.rejected.map(String) };
  } finally {
    transport.close();
  }
}

function post(messageId: string): string {
  return `From: Ann <${ANN}>\r\nTo: ${LIST}\r\nSubject: counted\r\nMessage-ID: ${messageId}\r\nDate: Sun, 06 Dec 2026 10:00:00 +0000\r\n\r\nHello.\r\n`;
}

describe('the work counters on a real master', () => {
  it(
    'status --json, status and /metrics show the exact counts of deliveries by reply class, bounces, LMTP sessions and rejects; a SIGKILLed runner restarted does not take them back down',
    async () => {
      let goneRefused = false;
      sink = await SmtpSink.start({
        script: {
          rcpt: (recipient) => {
            if (recipient === TEMP) return 451;
            if (recipient === GONE && !goneRefused) {
              goneRefused = true;
              return 550;
            }
            return undefined;
          },
        },
      });
      const lmtpPort = await freePort();
      const httpPort = await freePort();
      const base = `http://127.0.0.1:${httpPort}`;
      // A deferred recipient comes back only in an hour: every count below is of one attempt.
      home = await makeHome(testConfig(`[smtp]\nport = ${sink.port}\nprobeTimeout = 0\n\n[lmtp]\nport = ${lmtpPort}\n\n[ingress]\nmaxMessageSize = 4096\n\n[http]\nport = ${httpPort}\n\n[retry]\ninitialDelay = "1h"\njitter = 0\n`));
      const store = openStore(home);
      try {
        // One bounce disables; the member alone is told (no owner notice to count).
        await store.createList({ address: LIST, settings: { bounceScoreThreshold: 1, bounceNotifyOwnerOnDisable: false } });
        await store.addMembers(LIST, [{ address: ANN }, { address: TEMP }, { address: GONE }]);
      } finally {
        await store.close();
      }
      master = await startMaster(home);
      expect((await master.status()).counters).toEqual(zeroCounters());

      const session = await lmtp(lmtpPort, ANN, [LIST, UNKNOWN], post('<counted-1@example.org>'));
      expect(session).toEqual({ accepted: [LIST], rejected: [UNKNOWN] });

      const settled = expected({
        // ann and (the disabled notice) gone accepted, temp deferred, gone refused.
        deliveryRecipients: { '2xx': 2, '4xx': 1, '5xx': 1 },
        bouncesScored: 1,
        bounceDisables: 1,
        lmtpSessions: 1,
        lmtpRejects: { 'unknown-address': 1 },
        posts: { accept: 1 },
        notices: { sent: 1 },
      });
      const status = await master.statusWhen((s) => JSON.stringify(s.counters) === JSON.stringify(settled), 'the counts of the post, its bounce and the notice', MASTER_WAIT_MS);
      expect(status.counters).toEqual(settled);
      expect(sink.deliveries.get(GONE)).toBe(1);
      expect(sink.deliveries.get(ANN)).toBe(1);
      expect(sink.deliveries.has(TEMP)).toBe(false);

      const json = JSON.parse((await runCli(['--home', home, 'status', '--json'])).stdout) as StatusReport;
      expect(json.counters).toEqual(settled);
      const text = (await runCli(['--home', home, 'status'])).stdout;
      expect(text).toContain(
        'counted since the master started: recipients 4 (2xx 2, 4xx 1, 5xx 1); bounces scored 1; disabled by bounces 1; lmtp sessions 1; lmtp rejects 1 (unknown-address 1); posts 1 (accept 1); notices 1 (sent 1)\n',
      );
      const metrics = await counterLines(base);
      expect(metrics).toEqual(
        expect.arrayContaining([
          'switchyard_delivery_recipients_total{class="2xx"} 2',
          'switchyard_delivery_recipients_total{class="4xx"} 1',
          'switchyard_delivery_recipients_total{class="5xx"} 1',
          'switchyard_bounces_scored_total 1',
          'switchyard_bounce_disables_total 1',
          'switchyard_lmtp_sessions_total 1',
          'switchyard_lmtp_rejects_total{reason="unknown-address"} 1',
          'switchyard_lmtp_rejects_total{reason="oversize"} 0',
          'switchyard_posts_total{decision="accept"} 1',
          'switchyard_posts_total{decision="hold"} 0',
          'switchyard_notices_total{outcome="sent"} 1',
          'switchyard_bounces_ignored_total{reason="non-member"} 0',
        ]),
      );
      // Every series of every counter, from 0: 3 + 1 + 1 + 3 + 2 + 1 + 5 + 4 + 2.
      expect(metrics).toHaveLength(22);
      const text2 = await (await fetch(`${base}/metrics`)).text();
      expect(text2).toContain('# TYPE switchyard_delivery_recipients_total counter');

      // SIGKILL the LMTP service and the outgoing runner: the master restarts both; their new processes count from 0.
      const before = await master.status();
      const pids = new Map(before.runners.filter((r) => r.name === 'lmtp' || r.name === 'outgoing').map((r) => [r.name, r.pid!]));
      expect(pids.size).toBe(2);
      for (const pid of pids.values()) process.kill(pid, 'SIGKILL');
      const restarted = await master.statusWhen(
        (s) => [...pids].every(([name, pid]) => s.runners.some((r) => r.name === name && r.state === 'running' && r.pid !== null && r.pid !== pid && r.restarts >= 1)),
        'lmtp and outgoing restarted',
      );
      expect(restarted.counters).toEqual(settled);
      expect(JSON.parse((await runCli(['--home', home, 'status', '--json'])).stdout).counters).toEqual(settled);
      expect(await counterLines(base)).toEqual(metrics);

      // The restarted LMTP service counts on from its own 0; the master adds the earlier process's counts.
      // One session: an unknown address and an oversize message (552 per recipient), then an empty one (554).
      const client = await LmtpClient.open(lmtpPort);
      client.send(`LHLO t\r\nMAIL FROM:<${ANN}>\r\nRCPT TO:<${UNKNOWN}>\r\nRCPT TO:<${LIST}>\r\nDATA\r\n`);
      expect((await client.replies(5)).slice(2)).toEqual([expect.stringMatching(/^550 /), expect.stringMatching(/^250 /), expect.stringMatching(/^354 /)]);
      client.send(`Subject: big\r\n\r\n${'x'.repeat(8000)}\r\n.\r\n`);
      expect(await client.replies(1)).toEqual([expect.stringMatching(/^552 /)]);
      client.send(`MAIL FROM:<>\r\nRCPT TO:<${LIST}>\r\nDATA\r\n`);
      await client.replies(3);
      client.send('.\r\n');
      expect(await client.replies(1)).toEqual([expect.stringMatching(/^554 /)]);
      client.send('QUIT\r\n');
      await client.replies(1);
      const more = expected({ ...settled, lmtpSessions: 2, lmtpRejects: { 'unknown-address': 2, oversize: 1, empty: 1 } });
      const after = await master.statusWhen((s) => JSON.stringify(s.counters) === JSON.stringify(more), 'the second LMTP session counted on top');
      expect(after.counters).toEqual(more);
      expect(await counterLines(base)).toEqual(
        expect.arrayContaining([
          'switchyard_lmtp_sessions_total 2',
          'switchyard_lmtp_rejects_total{reason="unknown-address"} 2',
          'switchyard_lmtp_rejects_total{reason="oversize"} 1',
          'switchyard_lmtp_rejects_total{reason="empty"} 1',
          'switchyard_delivery_recipients_total{class="2xx"} 2',
        ]),
      );
    },
    TIMEOUT,
  );
});

describe('WorkCounters and the sums the master makes', () => {
  it('counts by name and label value, sends only what is not 0, and tells its owner after each count', () => {
    let changes = 0;
    const counters = new WorkCounters(() => changes++);
    expect(counters.counts()).toEqual({});
    counters.count('lmtpSessions');
    counters.count('deliveryRecipients', '2xx', 3);
    counters.count('deliveryRecipients', '5xx');
    counters.count('deliveryRecipients', '4xx', 0);
    expect(counters.counts()).toEqual({ lmtpSessions: 1, deliveryRecipients: { '2xx': 3, '5xx': 1 } });
    expect(counters.get('deliveryRecipients')).toEqual({ '2xx': 3, '4xx': 0, '5xx': 1 });
    expect(changes).toBe(3);
  });

  it('the master takes only defined counters and label values with counts >= 0, and sums processes', () => {
    const sent: unknown[] = [
      { lmtpSessions: 2, deliveryRecipients: { '2xx': 1, '3xx': 5 }, invented: 7 },
      { lmtpSessions: -1, bouncesScored: 'many', deliveryRecipients: { '2xx': 4, '5xx': Number.NaN } },
      null,
      'nonsense',
      { posts: { hold: 1 } },
    ];
    const total = sumCounts(sent);
    expect(total).toEqual(expected({ lmtpSessions: 2, deliveryRecipients: { '2xx': 5 }, posts: { hold: 1 } }));
    expect(countersLine(total)).toBe('recipients 5 (2xx 5); lmtp sessions 2; posts 1 (hold 1)');
    expect(countersLine(zeroCounters())).toBe('nothing counted yet');
  });

  it('the README lists every counter as src/work-counters.ts defines it (regenerate with `npm run docs`)', async () => {
    const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
    expect(readmeSection(readme, 'counters-reference')).toBe(countersReference().trim());
  });
});
