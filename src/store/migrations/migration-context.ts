import type { QueryInterface } from 'sequelize';
import type { Dialect } from '../database';

/** What every migration receives from umzug. */
export interface MigrationContext {
  readonly queryInterface: QueryInterface;
  readonly dialect: Dialect;
}

export interface MigrationModule {
  readonly name: string;
  up(params: { context: MigrationContext }): Promise<void>;
  down(params: { context: MigrationContext }): Promise<void>;
}
