/**
 * A private PostgreSQL cluster for tests and benchmarks: initdb in a fresh
 * temporary directory owned by the `postgres` system user (PostgreSQL
 * refuses to run as root, and tests run as root in CI), listening only on
 * 127.0.0.1 on a free port, its unix socket in that directory, trust
 * authentication. Started and stopped by the test that needs it; never the
 * system cluster, never Docker. `.ci/run` installs the server (apt
 * `postgresql`); the binaries are found in /usr/lib/postgresql/<major>/bin.
 *
 * `database()` makes a fresh empty database per test; `stop()`/`start()`
 * take the server away and bring it back (tests of a store outage).
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './net.js';

const run = promisify(execFile);

/** The newest installed server's bin directory, or undefined. */
export function postgresBinDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const majors = readdirSync(root).filter((name) => /^\d+$/.test(name)).sort((a, b) => Number(b) - Number(a));
  for (const major of majors) if (existsSync(join(root, major, 'bin', 'pg_ctl'))) return join(root, major, 'bin');
  return undefined;
}

export interface PostgresCluster {
  /** postgres://postgres@127.0.0.1:PORT/postgres */
  readonly adminUrl: string;
  readonly port: number;
  /** A fresh empty database; its url. */
  database(name?: string): Promise<string>;
  /** pg_ctl stop -m fast (connections are cut: 57P01). */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stop and remove everything. */
  destroy(): Promise<void>;
}

let databases = 0;

/**
 * `durable`: fsync on, as a production server runs (benchmarks comparing it
 * with SQLite at synchronous=FULL); tests run without it, for speed.
 */
export async function startPostgres(options: { durable?: boolean } = {}): Promise<PostgresCluster> {
  const bin = postgresBinDir();
  if (bin === undefined) throw new Error('no PostgreSQL server in /usr/lib/postgresql/*/bin: apt-get install -y postgresql (.ci/run does)');
  const dir = await mkdtemp(join(tmpdir(), 'sy-pg-'));
  const data = join(dir, 'data');
  const log = join(dir, 'server.log');
  const asRoot = userInfo().uid === 0;
  // As root: everything as the postgres user, who must own the directory; as anyone else: as that user.
  const asServer = async (program: string, args: string[]): Promise<void> => {
    const [file, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', join(bin, program), ...args]] : [join(bin, program), args];
    await run(file, argv, { timeout: 120_000 });
  };
  if (asRoot) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    await chown(dir, Number(stdout.trim()), Number(gid.trim()));
  }
  await asServer('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync']);
  const port = await freePort();
  const speed = options.durable === true ? '' : ' -c fsync=off -c full_page_writes=off -c synchronous_commit=off';
  const serverOptions = `-c listen_addresses=127.0.0.1 -p ${port} -c unix_socket_directories=${dir} -c max_connections=200${speed}`;
  const start = (): Promise<void> => asServer('pg_ctl', ['start', '-D', data, '-l', log, '-w', '-t', '120', '-o', serverOptions]);
  await start();
  const adminUrl = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const admin = async (sql: string): Promise<void> => {
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  let running = true;
  return {
    adminUrl,
    port,
    async database(name?: string): Promise<string> {
      const db = name ?? `sy_test_${process.pid}_${++databases}`;
      await admin(`CREATE DATABASE ${db}`);
      return `postgres://postgres@127.0.0.1:${port}/${db}`;
    },
    async stop(): Promise<void> {
      await asServer('pg_ctl', ['stop', '-D', data, '-m', 'fast', '-w']);
      running = false;
    },
    async start(): Promise<void> {
      await start();
      running = true;
    },
    async destroy(): Promise<void> {
      if (running) await asServer('pg_ctl', ['stop', '-D', data, '-m', 'immediate', '-w']).catch(() => undefined);
      running = false;
      await rm(dir, { recursive: true, force: true });
    },
  };
}
