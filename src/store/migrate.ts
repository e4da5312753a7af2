import { Client } from 'pg';
import { SequelizeStorage, Umzug } from 'umzug';
import type { Database } from './database';
import { MIGRATIONS } from './migrations';
import type { MigrationContext } from './migrations/migration-context';

/** Table umzug records applied migrations in. */
export const MIGRATIONS_TABLE = 'schema_migrations';

/** Arbitrary constant key for the Postgres advisory lock that serialises migrations across replicas. */
const MIGRATION_LOCK_KEY = 0x636c6177; // "claw"

function createMigrator(database: Database): Umzug<MigrationContext> {
  return new Umzug<MigrationContext>({
    migrations: MIGRATIONS.map((migration) => ({ name: migration.name, up: migration.up, down: migration.down })),
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
