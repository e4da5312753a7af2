import { DataTypes } from 'sequelize';
import type { MigrationContext } from './migration-context';

/**
 * The status clawgate published for an evaluation (its description and the PR's source branch, what
 * the forged-status defence restores) gets its own columns; until now both were stored inside the
 * verdict JSON, which now keeps only the verdict. Existing rows are moved: the columns are filled from
 * the JSON and the two keys removed from it. `down` puts them back.
 */
export const name = '0002-evaluation-published-status';

export async function up({ context }: { context: MigrationContext }): Promise<void> {
  const { queryInterface: qi, dialect } = context;
  await qi.addColumn('evaluations', 'status_description', { type: DataTypes.STRING(255), allowNull: true });
  await qi.addColumn('evaluations', 'source_branch', { type: DataTypes.STRING(1024), allowNull: true });
  if (dialect === 'postgres') {
    await qi.sequelize.query(
      `UPDATE evaluations SET
         status_description = LEFT(verdict->>'status_description', 255),
         source_branch = LEFT(verdict->>'source_branch', 1024),
         verdict = verdict - 'status_description' - 'source_branch'
       WHERE (verdict->>'status_description') IS NOT NULL OR (verdict->>'source_branch') IS NOT NULL`,
    );
  } else {
    await qi.sequelize.query(
      `UPDATE evaluations SET
         status_description = substr(json_extract(verdict, '$.status_description'), 1, 255),
         source_branch = substr(json_extract(verdict, '$.source_branch'), 1, 1024),
         verdict = json_remove(verdict, '$.status_description', '$.source_branch')
       WHERE json_type(verdict, '$.status_description') IS NOT NULL OR json_type(verdict, '$.source_branch') IS NOT NULL`,
    );
  }
}

export async function down({ context }: { context: MigrationContext }): Promise<void> {
  const { queryInterface: qi, dialect } = context;
  if (dialect === 'postgres') {
    await qi.sequelize.query(
      `UPDATE evaluations SET verdict = verdict || jsonb_strip_nulls(jsonb_build_object('status_description', status_description, 'source_branch', source_branch))
       WHERE status_description IS NOT NULL OR source_branch IS NOT NULL`,
    );
  } else {
    await qi.sequelize.query(
      `UPDATE evaluations SET verdict = json_patch(verdict, json_object('status_description', status_description, 'source_branch', source_branch))
       WHERE status_description IS NOT NULL OR source_branch IS NOT NULL`,
    );
  }
  await qi.removeColumn('evaluations', 'source_branch');
  await qi.removeColumn('evaluations', 'status_description');
}
