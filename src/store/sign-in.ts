import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { Op } from 'sequelize';
import { appendAuditEvent } from './audit-log';
import { StoreError } from './errors';
import type { SignInSessionRow } from './models';
import type { RepositoryContext } from './repository-context';
import { SecretValue } from './secret-value';
import { workspaceKey, type WorkspaceId } from './workspace-id';

/**
 * Sign in with Bitbucket (docs/sign-in.md), what is stored of it:
 * - the workspace's OAuth consumer (key; secret sealed), set by an operator and audited;
 * - sign-ins in flight, found by the SHA-256 of their `state` (the state names the workspace, so this
 *   lookup, like Tenants.findByClientKey, comes before the workspace is known), used at most once;
 * - sessions, found by id and proven by the SHA-256 of the cookie secret (compared in constant time).
 * Secrets (consumer secret, PKCE verifier, session signing key, the user's Bitbucket token) are sealed
 * with the SecretBox, bound to their column and row, and handed out as SecretValue.
 */

export interface OAuthConsumer {
  readonly workspaceId: string;
  readonly consumerKey: string;
  readonly consumerSecret: SecretValue;
  readonly updatedAt: Date;
}

export interface SignInState {
  readonly workspaceId: string;
  readonly bindingHash: string;
  readonly codeVerifier: SecretValue;
  readonly returnPath: string;
  readonly expiresAt: Date;
}

export interface SignInSession {
  readonly id: string;
  readonly workspaceId: string;
  /** The signed-in person's Bitbucket `{uuid}`, lower case. */
  readonly accountUuid: string;
  readonly signingKey: SecretValue;
  readonly userToken: SecretValue;
  readonly expiresAt: Date;
}

const CONSUMER_SECRET_CONTEXT = (workspace: string) => `oauth_consumers.consumer_secret:${workspace}`;
const VERIFIER_CONTEXT = (id: string) => `oauth_sign_in_states.code_verifier:${id}`;
const SIGNING_KEY_CONTEXT = (id: string) => `oauth_sessions.signing_key:${id}`;
const USER_TOKEN_CONTEXT = (id: string) => `oauth_sessions.user_token:${id}`;

/** Hex SHA-256 of a secret presented by a browser (what is stored and looked up). */
export function sha256Hex(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

function equalHex(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export class OAuthConsumerRepository {
  constructor(private readonly context: RepositoryContext) {}

  /** Registers (or replaces) the workspace's consumer; audited without the secret. */
  async set(
    workspaceId: WorkspaceId,
    input: { consumerKey: string; consumerSecret: string; actor: string },
  ): Promise<OAuthConsumer> {
    const workspace = workspaceKey(workspaceId);
    if (!/^[\x21-\x7e]{1,255}$/.test(input.consumerKey))
      throw new StoreError('INVALID_INPUT', 'consumer key must be 1..255 printable characters');
    if (!/^[\x21-\x7e]{1,255}$/.test(input.consumerSecret))
      throw new StoreError('INVALID_INPUT', 'consumer secret must be 1..255 printable characters');
    return this.context.db.write(async (transaction) => {
      const { OAuthConsumer } = this.context.models;
      const now = this.context.now();
      const existing = await OAuthConsumer.findOne({ where: { workspace_uuid: workspace }, transaction });
      const sealed = this.context.secretBox.seal(input.consumerSecret, CONSUMER_SECRET_CONTEXT(workspace));
      const before = existing === null ? null : { consumer_key: existing.get('consumer_key') };
      if (existing === null) {
        await OAuthConsumer.create(
          {
            workspace_uuid: workspace,
            consumer_key: input.consumerKey,
            consumer_secret: sealed,
            created_by: input.actor,
            created_at: now,
            updated_at: now,
          },
          { transaction },
        );
      } else {
        await existing.update(
          { consumer_key: input.consumerKey, consumer_secret: sealed, updated_at: now },
          { transaction },
        );
      }
      await appendAuditEvent(
        this.context,
        workspace,
        {
          actor: input.actor,
          kind: 'oauth_consumer.set',
          subject: workspace,
          before,
          after: { consumer_key: input.consumerKey, has_secret: true },
        },
        transaction,
      );
      return {
        workspaceId: workspace,
        consumerKey: input.consumerKey,
        consumerSecret: new SecretValue(input.consumerSecret),
        updatedAt: now,
      };
    });
  }

  async get(workspaceId: WorkspaceId): Promise<OAuthConsumer | null> {
    const workspace = workspaceKey(workspaceId);
    return this.context.db.read(async () => {
      const row = await this.context.models.OAuthConsumer.findOne({ where: { workspace_uuid: workspace } });
      if (row === null) return null;
      const plain = row.get({ plain: true });
      return {
        workspaceId: workspace,
        consumerKey: plain.consumer_key,
        consumerSecret: new SecretValue(
          this.context.secretBox.open(plain.consumer_secret, CONSUMER_SECRET_CONTEXT(workspace)),
        ),
        updatedAt: plain.updated_at,
      };
    });
  }

  /** Removes the consumer and ends every sign-in session of the workspace; audited. False when none was set. */
  async remove(workspaceId: WorkspaceId, actor: string): Promise<boolean> {
    const workspace = workspaceKey(workspaceId);
    return this.context.db.write(async (transaction) => {
      const { OAuthConsumer, SignInSession } = this.context.models;
      const removed = await OAuthConsumer.destroy({ where: { workspace_uuid: workspace }, transaction });
      if (removed === 0) return false;
      const now = this.context.now();
      await SignInSession.update(
        { revoked_at: now },
        { where: { workspace_uuid: workspace, revoked_at: null }, transaction },
      );
      await appendAuditEvent(
        this.context,
        workspace,
        { actor, kind: 'oauth_consumer.removed', subject: workspace },
        transaction,
      );
      return true;
    });
  }
}

export class SignInRepository {
  constructor(private readonly context: RepositoryContext) {}

  /** Records a sign-in in flight. `state` and `binding` are the browser's secrets; only their hashes are stored. */
  async createState(
    workspaceId: WorkspaceId,
    input: { state: string; binding: string; codeVerifier: string; returnPath: string; expiresAt: Date },
  ): Promise<void> {
    const workspace = workspaceKey(workspaceId);
    if (input.returnPath.length > 2048) throw new StoreError('INVALID_INPUT', 'return path too long');
    await this.context.db.write(async (transaction) => {
      const { SignInState } = this.context.models;
      const now = this.context.now();
      // Sign-ins nobody finished are deleted as new ones start (they are useless once expired).
      await SignInState.destroy({ where: { expires_at: { [Op.lt]: now } }, transaction });
      const id = randomUUID();
      await SignInState.create(
        {
          id,
          state_hash: sha256Hex(input.state),
          binding_hash: sha256Hex(input.binding),
          workspace_uuid: workspace,
          code_verifier: this.context.secretBox.seal(input.codeVerifier, VERIFIER_CONTEXT(id)),
          return_path: input.returnPath,
          created_at: now,
          expires_at: input.expiresAt,
          consumed_at: null,
        },
        { transaction },
      );
    });
  }

  /**
   * Uses up the sign-in named by `state`: at most once, whatever the outcome (a state that was tried
   * with the wrong browser is spent too). Null when unknown, already used or expired at `now`; the
   * caller compares the binding (constant time, `bindingMatches`).
   */
  async consumeState(state: string, now: Date): Promise<SignInState | null> {
    if (typeof state !== 'string' || state.length === 0 || state.length > 512) return null;
    const hash = sha256Hex(state);
    return this.context.db.write(async (transaction) => {
      const { SignInState } = this.context.models;
      const row = await SignInState.findOne({ where: { state_hash: hash }, transaction });
      if (row === null) return null;
      const plain = row.get({ plain: true });
      // Conditional update: of two racing callbacks only one sees a row changed.
      const [changed] = await SignInState.update(
        { consumed_at: this.context.now() },
        { where: { id: plain.id, consumed_at: null }, transaction },
      );
      if (changed !== 1 || plain.expires_at.getTime() <= now.getTime()) return null;
      return {
        workspaceId: plain.workspace_uuid,
        bindingHash: plain.binding_hash,
        codeVerifier: new SecretValue(this.context.secretBox.open(plain.code_verifier, VERIFIER_CONTEXT(plain.id))),
        returnPath: plain.return_path,
        expiresAt: plain.expires_at,
      };
    });
  }

  /** A new session; returns it with the cookie value (`<id>.<secret>`, shown once). Audited. */
  async createSession(
    workspaceId: WorkspaceId,
    input: { accountUuid: string; userToken: string; expiresAt: Date },
  ): Promise<{ session: SignInSession; cookie: string }> {
    const workspace = workspaceKey(workspaceId);
    const accountUuid = input.accountUuid.toLowerCase();
    if (!/^\{[0-9a-f-]{1,62}\}$/.test(accountUuid)) throw new StoreError('INVALID_INPUT', 'account must be a {uuid}');
    const id = randomUUID();
    const secret = randomBytes(32).toString('base64url');
    const signingKey = randomBytes(32).toString('base64url');
    await this.context.db.write(async (transaction) => {
      const { SignInSession } = this.context.models;
      const now = this.context.now();
      await SignInSession.destroy({ where: { expires_at: { [Op.lt]: now } }, transaction });
      await SignInSession.create(
        {
          id,
          workspace_uuid: workspace,
          account_uuid: accountUuid,
          cookie_hash: sha256Hex(secret),
          signing_key: this.context.secretBox.seal(signingKey, SIGNING_KEY_CONTEXT(id)),
          user_token: this.context.secretBox.seal(input.userToken, USER_TOKEN_CONTEXT(id)),
          created_at: now,
          expires_at: input.expiresAt,
          revoked_at: null,
        },
        { transaction },
      );
      await appendAuditEvent(
        this.context,
        workspace,
        {
          actor: `signin:${accountUuid}`,
          kind: 'signin.session_started',
          subject: id,
          after: { expires_at: input.expiresAt.toISOString() },
        },
        transaction,
      );
    });
    return {
      session: {
        id,
        workspaceId: workspace,
        accountUuid,
        signingKey: new SecretValue(signingKey),
        userToken: new SecretValue(input.userToken),
        expiresAt: input.expiresAt,
      },
      cookie: `${id}.${secret}`,
    };
  }

  private toSession(row: SignInSessionRow): SignInSession {
    const box = this.context.secretBox;
    return {
      id: row.id,
      workspaceId: row.workspace_uuid,
      accountUuid: row.account_uuid,
      signingKey: new SecretValue(box.open(row.signing_key, SIGNING_KEY_CONTEXT(row.id))),
      userToken: new SecretValue(box.open(row.user_token, USER_TOKEN_CONTEXT(row.id))),
      expiresAt: row.expires_at,
    };
  }

  /** A live (not expired at `now`, not revoked) session by id; the id alone proves nothing, callers verify a signature or cookie. */
  async liveSession(id: string, now: Date): Promise<SignInSession | null> {
    if (typeof id !== 'string' || !UUID.test(id)) return null;
    return this.context.db.read(async () => {
      const row = await this.context.models.SignInSession.findOne({ where: { id } });
      if (row === null) return null;
      const plain = row.get({ plain: true });
      if (plain.revoked_at !== null || plain.expires_at.getTime() <= now.getTime()) return null;
      return this.toSession(plain);
    });
  }

  /** The live session a cookie value (`<id>.<secret>`) proves; secret compared in constant time. */
  async sessionByCookie(cookie: string, now: Date): Promise<SignInSession | null> {
    if (typeof cookie !== 'string' || cookie.length > 200) return null;
    const dot = cookie.indexOf('.');
    if (dot < 0) return null;
    const id = cookie.slice(0, dot);
    const secret = cookie.slice(dot + 1);
    if (!UUID.test(id) || secret.length === 0) return null;
    return this.context.db.read(async () => {
      const row = await this.context.models.SignInSession.findOne({ where: { id } });
      if (row === null) return null;
      const plain = row.get({ plain: true });
      if (!equalHex(sha256Hex(secret), plain.cookie_hash)) return null;
      if (plain.revoked_at !== null || plain.expires_at.getTime() <= now.getTime()) return null;
      return this.toSession(plain);
    });
  }

  /** The newest live session of a person in a workspace (whose Bitbucket token answers permission questions). */
  async newestLiveSession(workspaceId: WorkspaceId, accountUuid: string, now: Date): Promise<SignInSession | null> {
    const workspace = workspaceKey(workspaceId);
    return this.context.db.read(async () => {
      const row = await this.context.models.SignInSession.findOne({
        where: {
          workspace_uuid: workspace,
          account_uuid: accountUuid.toLowerCase(),
          revoked_at: null,
          expires_at: { [Op.gt]: now },
        },
        order: [['created_at', 'DESC']],
      });
      return row === null ? null : this.toSession(row.get({ plain: true }));
    });
  }

  /** Ends a session (sign out); audited. */
  async revokeSession(workspaceId: WorkspaceId, id: string): Promise<boolean> {
    const workspace = workspaceKey(workspaceId);
    if (!UUID.test(id)) return false;
    return this.context.db.write(async (transaction) => {
      const [changed] = await this.context.models.SignInSession.update(
        { revoked_at: this.context.now() },
        { where: { workspace_uuid: workspace, id, revoked_at: null }, transaction },
      );
      if (changed > 0)
        await appendAuditEvent(
          this.context,
          workspace,
          { actor: 'signin', kind: 'signin.session_ended', subject: id },
          transaction,
        );
      return changed > 0;
    });
  }
}

/** Does the browser's binding cookie belong to this sign-in? (constant time) */
export function bindingMatches(state: SignInState, binding: string | undefined): boolean {
  return equalHex(sha256Hex(binding ?? ''), state.bindingHash);
}
