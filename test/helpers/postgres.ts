// A real PostgreSQL for tests (Debian `postgresql`): one server per test-file process, started on
// first use in a temporary data directory (initdb, trust auth on 127.0.0.1, a free port, its unix
// socket in the same directory, fsync off), stopped and removed by the file's after() hook. Each
// caller of freshDatabase() gets a new database (CREATE DATABASE, ~0.1 s) on it. PostgreSQL refuses to
// run as root: under root the server runs as the `postgres` user and owns the directory.
import { after } from 'node:test';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { waitFor } from './wait.js';
import { skipUnless } from './tools.js';
import { freeTcpPort } from './ports.js';

/** The newest installed server's bin directory (Debian: /usr/lib/postgresql/<major>/bin). */
function binDir(): string {
  const root = '/usr/lib/postgresql';
  const majors = existsSync(root) ? readdirSync(root).filter((d) => /^\d+$/.test(d) && existsSync(join(root, d, 'bin', 'postgres'))) : [];
  majors.sort((a, b) => Number(b) - Number(a));
  return join(root, majors[0] ?? '15', 'bin');
}
const BIN = binDir();

/** The `skip` option of a PostgreSQL test: a reason outside CI when it is not installed; never under CI=true. */
export const pgSkip = skipUnless([[join(BIN, 'initdb'), 'postgresql']]);

export interface PgServer {
  readonly port: number;
  /** postgres://netroot:<password>@127.0.0.1:<port>/<new database>: a new, empty database (trust auth: the password is accepted, never checked). */
  freshDatabase(): Promise<string>;
  /**
   * The directory of the server's unix socket (`.s.PGSQL.<port>`): a file, so a process in another
   * network namespace reaches it too (`postgres://netroot@localhost:<port>/<db>?host=<socketDir>`).
   */
  readonly socketDir: string;
  /** Milliseconds initdb + start took. */
  readonly startMs: number;
  /** Stops the server (a lost database), keeping its data; resume() starts it again on the same port. */
  halt(): Promise<void>;
  resume(): Promise<void>;
}

/** uid/gid to run the server as: the `postgres` user under root, ourselves otherwise. */
function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => Number(spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout.trim());
  return { uid: id('-u'), gid: id('-g') };
}

let server: Promise<PgServer> | undefined;
let child: ChildProcess | undefined;
let dir: string | undefined;
let databases = 0;

async function start(): Promise<PgServer> {
  const t0 = performance.now();
  dir = mkdtempSync(join(tmpdir(), 'nrt-pg-'));
  const user = runAs();
  if (user) chownSync(dir, user.uid, user.gid);
  const data = join(dir, 'data');
  const init = spawnSync(join(BIN, 'initdb'), ['-D', data, '-U', 'netroot', '--auth=trust', '-N', '-E', 'UTF8', '--locale=C'], {
    encoding: 'utf8',
    ...(user ?? {}),
  });
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr || init.error?.message}`);
  const port = await freeTcpPort();
  await launch(data, port, user);
  const admin = `postgres://netroot@127.0.0.1:${port}/postgres`;
  return {
    port,
    socketDir: dir,
    startMs: performance.now() - t0,
    async halt() {
      await halt();
    },
    async resume() {
      await launch(data, port, user);
    },
    async freshDatabase() {
      const name = `t${process.pid}_${++databases}`;
      const c = new pg.Client(admin);
      await c.connect();
      try {
        await c.query(`CREATE DATABASE ${name}`);
      } finally {
        await c.end();
      }
      return `postgres://netroot:not-checked-pw@127.0.0.1:${port}/${name}`;
    },
  };
}

/** Starts the server on data and port (again, after halt()) and waits until it accepts connections. */
async function launch(data: string, port: number, user: { uid: number; gid: number } | undefined): Promise<void> {
  let log = '';
  const args = ['-D', data, '-p', String(port), '-k', dir!, '-c', 'listen_addresses=127.0.0.1'];
  for (const s of ['fsync=off', 'synchronous_commit=off', 'full_page_writes=off', 'shared_buffers=16MB', 'max_connections=200']) args.push('-c', s);
  child = spawn(join(BIN, 'postgres'), args, { stdio: ['ignore', 'ignore', 'pipe'], ...(user ?? {}) });
  child.stderr!.on('data', (b: Buffer) => (log = (log + b.toString()).slice(-4000)));
  let exited = false;
  child.once('exit', () => (exited = true));
  // A test process that dies without after(): immediate shutdown, so no server outlives it.
  if (!exitHook) {
    exitHook = true;
    process.once('exit', () => child?.kill('SIGQUIT'));
  }
  const admin = `postgres://netroot@127.0.0.1:${port}/postgres`;
  await waitFor(
    async () => {
      if (exited) throw new Error(`postgres exited: ${log}`);
      const c = new pg.Client(admin);
      try {
        await c.connect();
        return true;
      } catch {
        return false;
      } finally {
        await c.end().catch(() => undefined);
      }
    },
    { what: () => `postgres to accept connections: ${log}`, timeoutMs: 30_000, intervalMs: 25 },
  );
}
let exitHook = false;

/** Fast shutdown of the running server (clients disconnected); its data directory stays. */
async function halt(): Promise<void> {
  const c = child;
  child = undefined;
  if (c && c.exitCode === null && c.signalCode === null) {
    const gone = new Promise((r) => c.once('exit', r));
    c.kill('SIGINT');
    await gone;
  }
}

async function stop(): Promise<void> {
  const c = child;
  child = undefined;
  if (c && c.exitCode === null && c.signalCode === null) {
    const gone = new Promise((r) => c.once('exit', r));
    c.kill('SIGINT'); // fast shutdown: disconnects clients, no checkpoint wait beyond the minimum
    await gone;
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
}

/**
 * The file's server: call at a test file's top level (it registers the after() that stops it); the
 * server starts on the first await of the returned function.
 */
let registered = false;
export function usePostgres(): () => Promise<PgServer> {
  if (!registered) {
    registered = true;
    after(async () => {
      if (server) await server.catch(() => undefined);
      await stop();
      server = undefined;
    });
  }
  return () => (server ??= start());
}

/**
 * The same server for a program that is no test file (bench:storm): no after() hook (node:test
 * would start its reporter); the caller awaits the returned stop() when done, or calls abort()
 * from an exit handler. A process that exits without either still stops the server (the exit hook
 * above), but leaves its directory.
 */
export function ownPostgres(): { server: () => Promise<PgServer>; socketDir: () => string | undefined; stop: () => Promise<void>; abort: () => void } {
  return {
    /** At once, for an exit handler (no await there): immediate shutdown (SIGQUIT), directory removed. */
    abort() {
      child?.kill('SIGQUIT');
      child = undefined;
      if (dir) rmSync(dir, { recursive: true, force: true });
      dir = undefined;
    },
    server: () => (server ??= start()),
    /** The directory of the server's unix socket (.s.PGSQL.<port>): reachable from other network namespaces. */
    socketDir: () => dir,
    async stop() {
      if (server) await server.catch(() => undefined);
      await stop();
      server = undefined;
    },
  };
}
