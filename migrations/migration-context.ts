import type { QueryInterface } from 'sequelize';

/**
 * What every migration receives from umzug. The migrations compile apart from `src/` (their own
 * tsconfig, into dist/migrations), so they import nothing from it; `src/store/migrate.ts` declares
 * the same contract and checks each loaded module's shape before running it, and
 * test/store/migrations-contract.test.ts proves the two declarations agree.
 */
export interface MigrationContext {
  readonly queryInterface: QueryInterface;
  readonly dialect: 'sqlite' | 'postgres';
}

export interface MigrationModule {
  readonly name: string;
  up(params: { context: MigrationContext }): Promise<void>;
  down(params: { context: MigrationContext }): Promise<void>;
}
