import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { Op } from 'sequelize';
import { sha256 } from '../core/clawsig/hashing';
import { appendAuditEvent } from './audit-log';
import type { ApiTokenRow } from './models';
import type { RepositoryContext } from './repository-context';
import { workspaceKey, type WorkspaceId } from './workspace-id';

/**
 * Per-workspace API tokens (`Authorization: Bearer …`, docs/api.md). Only SHA-256 of the token is
 * stored, plus a short prefix to find candidate rows and to show the token in lists. The token
 * is 32 random bytes, so a plain hash (no salt, no slow KDF) is enough; the comparison is still
 * constant-time.
 */

export const API_TOKEN_PREFIX = 'cgw_';

/**
 * What a token may do (docs/api.md "Token scopes"): `bundles:write` uploads bundles and reads the
 * evaluations of the bundles it uploaded; `read` reads evaluations, bundles, policies, assignments and
 * the audit log; `admin` does everything (settings, policies, assignments, tokens, merge checks,
 * re-checks). Tokens created before scopes existed are `admin` (migration 0006).
 */
export const TOKEN_SCOPES = ['bundles:write', 'read', 'admin'] as const;
export type TokenScope = (typeof TOKEN_SCOPES)[number];
/** What a token gets when its creator names no scopes. */
export const DEFAULT_TOKEN_SCOPES: readonly TokenScope[] = ['bundles:write'];

function isTokenScope(value: unknown): value is TokenScope {
  return typeof value === 'string' && (TOKEN_SCOPES as readonly string[]).includes(value);
}

/** The stored JSON array, in TOKEN_SCOPES order; anything unreadable is no scope at all (fail closed). */
function parseScopes(text: string): TokenScope[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return [];
  }
  if (!Array.isArray(value)) return [];
  const present = new Set(value.filter(isTokenScope));
  return TOKEN_SCOPES.filter((scope) => present.has(scope));
}

function normaliseScopes(scopes: readonly TokenScope[]): TokenScope[] {
  const present = new Set(scopes.filter(isTokenScope));
  return TOKEN_SCOPES.filter((scope) => present.has(scope));
}
const TOKEN_PATTERN = /^cgw_[A-Za-z0-9_-]{43}$/;
/** `cgw_` plus 8 characters: 48 random bits, enough to find the row, useless to an attacker. */
const DISPLAY_PREFIX_LENGTH = 12;
/** last_used_at is refreshed at most this often, so verification is not a write per request. */
const LAST_USED_RESOLUTION_MS = 60_000;

export interface ApiTokenInfo {
  readonly id: string;
  readonly workspaceId: WorkspaceId;
  /** The first characters of the token, for display. */
  readonly prefix: string;
  readonly label: string | null;
  readonly createdBy: string;
  readonly createdAt: Date;
  readonly revokedAt: Date | null;
  readonly lastUsedAt: Date | null;
  readonly scopes: readonly TokenScope[];
}

export interface VerifiedApiToken {
  readonly workspaceId: WorkspaceId;
  readonly tokenId: string;
  readonly scopes: readonly TokenScope[];
}

function toInfo(row: ApiTokenRow): ApiTokenInfo {
  return {
    id: row.id,
    workspaceId: row.workspace_uuid,
    prefix: row.prefix,
    label: row.label,
    createdBy: row.created_by,
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
    lastUsedAt: row.last_used_at,
    scopes: parseScopes(row.scopes),
  };
}

function hashToken(token: string): string {
  return sha256(token).toString('base64url');
}

export class ApiTokenRepository {
  constructor(private readonly context: RepositoryContext) {}

  /**
   * Creates a token; the plaintext is returned once and never stored. `scopes` default to
   * DEFAULT_TOKEN_SCOPES; the first token a workspace ever has is `admin` whatever was asked (it is
   * the one the installer uses to configure everything else).
   */
  async create(
    workspaceId: WorkspaceId,
    options: { label?: string | null; actor: string; scopes?: readonly TokenScope[] },
  ): Promise<{ token: string; info: ApiTokenInfo }> {
    const workspace = workspaceKey(workspaceId);
    const token = `${API_TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
    const label = options.label == null ? null : options.label.slice(0, 128);
    const asked = normaliseScopes(options.scopes ?? DEFAULT_TOKEN_SCOPES);
    return this.context.db.write(async (transaction) => {
      const first =
        (await this.context.models.ApiToken.count({ where: { workspace_uuid: workspace }, transaction })) === 0;
      const scopes: TokenScope[] = first ? ['admin'] : asked.length > 0 ? asked : [...DEFAULT_TOKEN_SCOPES];
      const row = await this.context.models.ApiToken.create(
        {
          id: randomUUID(),
          workspace_uuid: workspace,
          token_hash: hashToken(token),
          prefix: token.slice(0, DISPLAY_PREFIX_LENGTH),
          label,
          created_by: options.actor,
          created_at: this.context.now(),
          revoked_at: null,
          last_used_at: null,
          scopes: JSON.stringify(scopes),
        },
        { transaction },
      );
      const info = toInfo(row.get({ plain: true }));
      await appendAuditEvent(
        this.context,
        workspace,
        {
          actor: options.actor,
          kind: 'api_token.created',
          subject: info.id,
          after: { prefix: info.prefix, label, scopes },
        },
        transaction,
      );
      return { token, info };
    });
  }

  async list(workspaceId: WorkspaceId): Promise<ApiTokenInfo[]> {
    const workspace = workspaceKey(workspaceId);
    return this.context.db.read(async () => {
      const rows = await this.context.models.ApiToken.findAll({
        where: { workspace_uuid: workspace },
        order: [['created_at', 'ASC']],
      });
      return rows.map((row) => toInfo(row.get({ plain: true })));
    });
  }

  /** Revokes a token of this workspace (idempotent). Null if the workspace has no such token. */
  async revoke(workspaceId: WorkspaceId, tokenId: string, actor: string): Promise<ApiTokenInfo | null> {
    const workspace = workspaceKey(workspaceId);
    return this.context.db.write(async (transaction) => {
      const row = await this.context.models.ApiToken.findOne({
        where: { workspace_uuid: workspace, id: tokenId },
        transaction,
      });
      if (row === null) return null;
      if (row.get('revoked_at') === null) {
        await row.update({ revoked_at: this.context.now() }, { transaction });
        await appendAuditEvent(
          this.context,
          workspace,
          { actor, kind: 'api_token.revoked', subject: tokenId, after: { prefix: row.get('prefix') } },
          transaction,
        );
      }
      return toInfo(row.get({ plain: true }));
    });
  }

  /**
   * The workspace a bearer token belongs to, or null: malformed, unknown, revoked, or the
   * workspace has no installed tenant any more (uninstall disables its tokens; fail closed).
   */
  async verifyApiToken(token: string): Promise<VerifiedApiToken | null> {
    if (typeof token !== 'string' || !TOKEN_PATTERN.test(token)) return null;
    const presented = sha256(token);
    const { ApiToken, Tenant } = this.context.models;
    const match = await this.context.db.read(async () => {
      const candidates = await ApiToken.findAll({
        where: { prefix: token.slice(0, DISPLAY_PREFIX_LENGTH), revoked_at: null },
      });
      let found: ApiTokenRow | null = null;
      for (const candidate of candidates) {
        const row = candidate.get({ plain: true });
        const stored = Buffer.from(row.token_hash, 'base64url');
        // Compare every candidate (no early exit) so timing does not depend on which one matched.
        if (stored.length === presented.length && timingSafeEqual(stored, presented) && found === null) found = row;
      }
      if (found === null) return null;
      const installed = await Tenant.count({ where: { workspace_uuid: found.workspace_uuid, uninstalled_at: null } });
      return installed > 0 ? found : null;
    });
    if (match === null) return null;
    const now = this.context.now();
    if (match.last_used_at === null || now.getTime() - match.last_used_at.getTime() >= LAST_USED_RESOLUTION_MS) {
      await this.context.db.write((transaction) =>
        ApiToken.update(
          { last_used_at: now },
          {
            where: { id: match.id, [Op.or]: [{ last_used_at: null }, { last_used_at: { [Op.lt]: now } }] },
            transaction,
          },
        ),
      );
    }
    return { workspaceId: match.workspace_uuid, tokenId: match.id, scopes: parseScopes(match.scopes) };
  }
}
