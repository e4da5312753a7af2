import { DataTypes } from 'sequelize';
import type { MigrationContext } from './migration-context';

/**
 * Sign in with Bitbucket for repository-webhook workspaces (issue 8, docs/sign-in.md):
 * - `oauth_consumers`: the OAuth consumer a workspace admin created in Bitbucket (key, and the
 *   secret sealed by the SecretBox), one per workspace.
 * - `oauth_sign_in_states`: one row per sign-in in flight: the SHA-256 of the `state` parameter, the
 *   SHA-256 of the browser-binding cookie, the PKCE verifier (sealed), where to go back to, and when
 *   it expires or was used (single use).
 * - `oauth_sessions`: a signed-in person's session: the SHA-256 of the session cookie's secret, a
 *   per-session signing key and the user's Bitbucket access token (both sealed), its expiry (never
 *   later than the Bitbucket token's) and revocation.
 */
export const name = '0011-oauth-sign-in';

export async function up({ context }: { context: MigrationContext }): Promise<void> {
  const qi = context.queryInterface;
  const date = (allowNull: boolean) => ({ type: DataTypes.DATE(3), allowNull });
  await qi.createTable('oauth_consumers', {
    workspace_uuid: { type: DataTypes.STRING(64), primaryKey: true, allowNull: false },
    consumer_key: { type: DataTypes.STRING(255), allowNull: false },
    consumer_secret: { type: DataTypes.TEXT, allowNull: false },
    created_by: { type: DataTypes.STRING(255), allowNull: false },
    created_at: date(false),
    updated_at: date(false),
  });
  await qi.createTable('oauth_sign_in_states', {
    id: { type: DataTypes.UUID, primaryKey: true, allowNull: false },
    state_hash: { type: DataTypes.STRING(64), allowNull: false, unique: true },
    binding_hash: { type: DataTypes.STRING(64), allowNull: false },
    workspace_uuid: { type: DataTypes.STRING(64), allowNull: false },
    code_verifier: { type: DataTypes.TEXT, allowNull: false },
    return_path: { type: DataTypes.STRING(2048), allowNull: false },
    created_at: date(false),
    expires_at: date(false),
    consumed_at: date(true),
  });
  await qi.addIndex('oauth_sign_in_states', ['expires_at'], { name: 'oauth_sign_in_states_expires' });
  await qi.createTable('oauth_sessions', {
    id: { type: DataTypes.UUID, primaryKey: true, allowNull: false },
    workspace_uuid: { type: DataTypes.STRING(64), allowNull: false },
    account_uuid: { type: DataTypes.STRING(64), allowNull: false },
    cookie_hash: { type: DataTypes.STRING(64), allowNull: false },
    signing_key: { type: DataTypes.TEXT, allowNull: false },
    user_token: { type: DataTypes.TEXT, allowNull: false },
    created_at: date(false),
    expires_at: date(false),
    revoked_at: date(true),
  });
  await qi.addIndex('oauth_sessions', ['workspace_uuid', 'account_uuid', 'expires_at'], {
    name: 'oauth_sessions_workspace_account',
  });
}

export async function down({ context }: { context: MigrationContext }): Promise<void> {
  const qi = context.queryInterface;
  await qi.dropTable('oauth_sessions');
  await qi.dropTable('oauth_sign_in_states');
  await qi.dropTable('oauth_consumers');
}
