import { DataTypes } from 'sequelize';
import type { MigrationContext } from './migration-context';

/**
 * Least privilege (issue "scoped tokens"):
 * - `api_tokens.scopes`: the JSON array of scopes a token grants (`bundles:write`, `read`, `admin`).
 *   Tokens that exist before this migration were all workspace admins in effect, so they keep working
 *   as `["admin"]` (the column default fills them); new tokens get what they were created with.
 * - `bundles.uploaded_by`: the actor that uploaded a bundle through the API (`api_token:<id>`), so a
 *   `bundles:write` token reads the evaluations of its own bundles and nothing else. Null for older
 *   rows and for bundles the pipeline kept from a PR.
 * The CST beside a bundle stays in `bundles.scoped_token`, now sealed by the SecretBox; older clear
 * values are sealed when the store opens (BundleRepository.sealClearScopedTokens).
 */
export const name = '0006-token-scopes';

export async function up({ context }: { context: MigrationContext }): Promise<void> {
  const qi = context.queryInterface;
  await qi.addColumn('api_tokens', 'scopes', {
    type: DataTypes.STRING(128),
    allowNull: false,
    defaultValue: '["admin"]',
  });
  await qi.addColumn('bundles', 'uploaded_by', { type: DataTypes.STRING(255), allowNull: true });
}

export async function down({ context }: { context: MigrationContext }): Promise<void> {
  const qi = context.queryInterface;
  await qi.removeColumn('bundles', 'uploaded_by');
  await qi.removeColumn('api_tokens', 'scopes');
}
