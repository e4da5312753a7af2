import fs from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import type { QueryInterface } from 'sequelize';
import { SequelizeStorage, Umzug } from 'umzug';
import type { Dialect, Database } from './database';

/** What every migration receives from umzug (migrations/migration-context.ts declares the same). */
export interface MigrationContext {
  readonly queryInterface: QueryInterface;
  readonly dialect: Dialect;
}

export interface MigrationModule {
  readonly name: string;
  up(params: { context: MigrationContext }): Promise<void>;
  down(params: { context: MigrationContext }): Promise<void>;
}

/**
 * The top-level `migrations/` folder: compiled into `dist/migrations/` beside `dist/store/` after
 * `npm run build`, else the TypeScript sources next to `src/` (Jest, tsx). They compile apart from
 * `src/` (migrations/tsconfig.json), so this module cannot import them statically.
 */
export function migrationsDirectory(): string {
  const compiled = path.resolve(__dirname, '..', 'migrations');
  if (fs.existsSync(path.join(compiled, 'index.js'))) return compiled;
  return path.resolve(__dirname, '..', '..', 'migrations');
}

function isMigrationModule(value: unknown): value is MigrationModule {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Record<string, unknown>;
  return (
    typeof candidate.name === 'string' && typeof candidate.up === 'function' && typeof candidate.down === 'function'
  );
}

/** `MIGRATIONS` of `migrations/index`, each checked; a malformed list refuses to migrate at all. */
export function loadMigrations(directory: string = migrationsDirectory()): readonly MigrationModule[] {
  // A runtime require (not import): the folder is found at run time, and under Jest and tsx `require`
  // is the one that compiles TypeScript.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const loaded: unknown = require(path.join(directory, 'index'));
  const list: unknown =
    typeof loaded === 'object' && loaded !== null ? (loaded as { MIGRATIONS?: unknown }).MIGRATIONS : undefined;
  if (!Array.isArray(list) || !list.every(isMigrationModule))
    throw new Error(`migrations: ${directory}/index does not export a valid MIGRATIONS list`);
  return list;
}

/** Table umzug records applied migrations in. */
export const MIGRATIONS_TABLE = 'schema_migrations';

/** Arbitrary constant key for the Postgres advisory lock that serialises migrations across replicas. */
const MIGRATION_LOCK_KEY = 0x636c6177; // "claw"

export function createMigrator(database: Database): Umzug<MigrationContext> {
  return new Umzug<MigrationContext>({
    migrations: loadMigrations().map((migration) => ({ name: migration.name, up: migration.up, down: migration.down })),
    context: { queryInterface: database.sequelize.getQueryInterface(), dialect: database.dialect },
    storage: new SequelizeStorage({ sequelize: database.sequelize, tableName: MIGRATIONS_TABLE }),
    logger: undefined,
  });
}

/**
 * Applies pending migrations; returns the names applied. On Postgres, replicas starting together
 * take a session advisory lock on a separate connection first, so only one runs the migrations and
 * the others then find nothing pending.
 */
export async function migrateDatabase(database: Database, postgresUrl?: string): Promise<string[]> {
  const migrator = createMigrator(database);
  if (database.dialect !== 'postgres' || postgresUrl === undefined) {
    return (await database.read(() => migrator.up())).map((migration) => migration.name);
  }
  const lockClient = new Client({ connectionString: postgresUrl });
  await lockClient.connect();
  try {
    await lockClient.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    return (await migrator.up()).map((migration) => migration.name);
  } finally {
    await lockClient.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
    await lockClient.end();
  }
}

export async function appliedMigrations(database: Database): Promise<string[]> {
  return (await database.read(() => createMigrator(database).executed())).map((migration) => migration.name);
}
