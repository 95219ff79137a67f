/**
 * A private Postfix instance for tests: its own config_directory, queue and
 * data directories under one temp directory, smtpd on a free loopback port,
 * relaying nowhere but to switchyard (default and relay transports are
 * `error:`), logging to a file in that directory. Nothing system-wide is
 * touched: Postfix accepts a private config_directory from root without
 * registering it in /etc/postfix/main.cf.
 *
 * Its main.cf is the base below plus the caller's lines (from
 * deploy/postfix/main.cf, pointing at the test homes); a parameter the
 * caller sets replaces the base's line for it (say, a test that needs a
 * quick queue run instead of the explicit flush); its master.cf is
 * Debian's with smtpd moved to the test port, chroot off, plus the
 * caller's services (deploy/postfix/master.cf's pipe transport).
 */
import { execFile, spawnSync } from 'node:child_process';
import { chmod, chown, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export function postfixAvailable(): boolean {
  return spawnSync('sh', ['-c', 'command -v postfix && command -v postqueue && command -v postmap'], { encoding: 'utf8' }).status === 0 && process.getuid?.() === 0;
}

export class PostfixInstance {
  readonly configDir: string;
  readonly queueDir: string;
  readonly log: string;

  constructor(readonly dir: string, readonly smtpPort: number) {
    this.configDir = join(dir, 'postfix');
    this.queueDir = join(dir, 'queue');
    this.log = join(dir, 'maillog');
  }

  async configure(mainCf: string, masterCf: string): Promise<void> {
    await chmod(this.dir, 0o755); // postfix and switchyard traverse it
    await mkdir(this.configDir, { recursive: true });
    await mkdir(this.queueDir, { recursive: true });
    const data = join(this.dir, 'data');
    await mkdir(data, { recursive: true });
    const postfixUid = Number(spawnSync('id', ['-u', 'postfix'], { encoding: 'utf8' }).stdout.trim());
    await chown(data, postfixUid, 0);
    const callerParameters = new Set(mainCf.split('\n').map(parameterName).filter((name) => name !== ''));
    const base = [
      'compatibility_level = 3.6',
      `queue_directory = ${this.queueDir}`,
      `data_directory = ${data}`,
      `maillog_file = ${this.log}`,
      `maillog_file_prefixes = ${this.dir}`,
      'inet_interfaces = 127.0.0.1',
      'inet_protocols = ipv4',
      'myhostname = mta.switchyard-test.invalid',
      'mydestination =',
      'mynetworks = 127.0.0.0/8',
      'alias_maps =',
      'alias_database =',
      'local_recipient_maps =',
      'smtputf8_enable = yes',
      'smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination',
      // Relay nowhere but to switchyard.
      'default_transport = error:this test instance relays nowhere',
      'relay_transport = error:this test instance relays nowhere',
      // Deferred mail waits for an explicit flush (postqueue -f), not a timer.
      'queue_run_delay = 1h',
      'minimal_backoff_time = 1h',
      'maximal_backoff_time = 2h',
      'smtpd_banner = $myhostname ESMTP',
    ]
      // The caller's setting wins: dropped here rather than left for Postfix, which takes the last one but warns about the first.
      .filter((line) => !callerParameters.has(parameterName(line)))
      .join('\n');
    await writeFile(join(this.configDir, 'main.cf'), `${base}\n\n${mainCf}\n`);
    const debian = await readFile('/etc/postfix/master.cf', 'utf8');
    const services = debian
      .split('\n')
      .filter((line) => line.trim() !== '' && !line.startsWith('#'))
      .join('\n')
      // Only the services Postfix itself needs; Debian's sample pipe services (maildrop, uucp, ...) go.
      .split(/\n(?=\S)/)
      .filter((service) => !/\bpipe\b/.test(service.split('\n')[0]!))
      .map((service) => {
        const [first, ...rest] = service.split('\n');
        const fields = first!.split(/\s+/);
        if (fields[0] === 'smtp' && fields[1] === 'inet') fields[0] = `127.0.0.1:${this.smtpPort}`;
        if (fields.length >= 8) fields[4] = 'n'; // no chroot: the maps live in the test homes
        return [fields.join(' '), ...rest].join('\n');
      })
      .join('\n');
    await writeFile(join(this.configDir, 'master.cf'), `${services}\n${masterCf}\n`);
  }

  private async postfix(...args: string[]): Promise<string> {
    try {
      const { stdout, stderr } = await run('postfix', ['-c', this.configDir, ...args], { timeout: 60_000 });
      return stdout + stderr;
    } catch (error) {
      const log = await readFile(this.log, 'utf8').catch(() => '');
      throw new Error(`postfix ${args.join(' ')} failed: ${(error as Error).message}\n${log.split('\n').slice(-20).join('\n')}`);
    }
  }

  async start(): Promise<void> {
    await this.postfix('start');
  }

  /** Stop, and wait until its master process is gone. */
  async stop(): Promise<void> {
    const pidFile = join(this.queueDir, 'pid', 'master.pid');
    const pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).trim());
    await this.postfix('stop').catch(() => this.postfix('abort').catch(() => undefined));
    if (!Number.isInteger(pid) || pid <= 0) return;
    for (let i = 0; i < 200 && alive(pid); i++) await new Promise((resolve) => setTimeout(resolve, 50));
    if (alive(pid)) process.kill(pid, 'SIGKILL');
  }

  /** The queue as `postqueue -j` shows it: one object per message. */
  async queue(): Promise<{ queue_name: string; queue_id: string; recipients: { address: string; delay_reason?: string }[] }[]> {
    const { stdout } = await run('postqueue', ['-c', this.configDir, '-j'], { timeout: 30_000 });
    return stdout
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as { queue_name: string; queue_id: string; recipients: { address: string; delay_reason?: string }[] });
  }

  /** Deliver the deferred queue now. */
  async flush(): Promise<void> {
    await run('postqueue', ['-c', this.configDir, '-f'], { timeout: 30_000 });
  }

  async logTail(lines = 30): Promise<string> {
    return (await readFile(this.log, 'utf8').catch(() => '')).split('\n').slice(-lines).join('\n');
  }
}

/** The parameter a main.cf line sets (`name = value`), '' for a comment, a continuation or a blank line. */
function parameterName(line: string): string {
  return /^([A-Za-z0-9_]+)\s*=/.exec(line)?.[1] ?? '';
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
