import { createHash, randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import type { Json, JsonObject } from './representations';
import type { Repository } from './model';
import type { BitbucketSandbox, UserRef } from './sandbox';

/**
 * Forge, as far as a Forge Remote app sees it (docs/forge.md §2–§4), for the sandbox's workspaces:
 * - installs the Forge app into a workspace: a fresh installation ARI, an app system token (a sandbox
 *   workspace access token with the manifest's scopes, sent as `x-forge-oauth-system`) and the
 *   `avi:forge:installed:app` lifecycle event; `uninstall` calls `preUninstall` and revokes the token;
 * - signs Forge Invocation Tokens (RS256) with its own key, published at `jwksUrl`;
 * - turns the sandbox's Bitbucket events into `avi:bitbucket:*` product events for the remote
 *   (`selfGenerated` when the app's own token caused them), with Forge's retries (up to 4 attempts)
 *   on non-2xx;
 * - runs the `bitbucket:mergeCheck` on code pushed, reviewer status changed and merge, and refuses a
 *   merge when a Required check does not answer `success: true` (an error or a timeout counts as a
 *   failure: inference, docs/forge.md §3.3);
 * - answers the Custom UI bridge's `invokeRemote` for a signed-in user (with `principal` and `context`).
 * Event bodies are sent bare (`{eventType, …}`); `wrapBodies` sends `{payload, context}` instead, the
 * other shape the remote must accept.
 */

/** The Forge scopes of forge/manifest.yml and the sandbox (OAuth) scopes each stands for here. */
export const FORGE_APP_SCOPES = [
  'read:pullrequest:bitbucket',
  'read:repository:bitbucket',
  'read:permission:bitbucket',
  'read:workspace:bitbucket',
] as const;
const SANDBOX_SCOPES_OF: Readonly<Record<(typeof FORGE_APP_SCOPES)[number], readonly string[]>> = {
  // "View pull requests and comment on them" (docs/forge.md §1.3).
  'read:pullrequest:bitbucket': ['pullrequest'],
  // Source, statuses and Code Insights reports (build statuses and reports need only this scope, as Bitbucket's OpenAPI spec declares them).
  'read:repository:bitbucket': ['repository'],
  // Workspace and repository permissions: which OAuth scope Bitbucket maps it to is UNCONFIRMED.
  'read:permission:bitbucket': ['account'],
  'read:workspace:bitbucket': [],
};
const FIT_LIFETIME_SECONDS = 25;
const EVENT_ATTEMPTS = 4;

export interface ForgeInstallation {
  readonly installationId: string;
  readonly workspaceUuid: string;
  readonly remoteBaseUrl: string;
  systemToken: string;
  systemTokenId: string;
  status: 'installed' | 'uninstalled';
}

export interface MergeCheckRun {
  readonly repo: string;
  readonly prId: number;
  readonly trigger: 'on-code-pushed' | 'on-reviewer-status-changed' | 'on-merge';
  readonly success: boolean;
  readonly message: string;
  readonly httpStatus: number | null;
}

export interface ForgeEventDelivery {
  readonly eventType: string;
  readonly attempts: number[];
  readonly repo: string;
}

export interface InvokeRemoteResult {
  readonly status: number;
  readonly headers: Record<string, string[]>;
  readonly body?: unknown;
}

export class MergeRefusedError extends Error {
  override readonly name = 'MergeRefusedError';
  constructor(readonly checkMessage: string) {
    super(`merge refused by a Required merge check: ${checkMessage}`);
  }
}

function bare(uuid: string): string {
  return uuid.replace(/^\{|\}$/g, '');
}

function object(value: Json | undefined): JsonObject | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? value : undefined;
}

function text(value: Json | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

export class SandboxForge {
  readonly appId: string;
  readonly jwksUrl: string;
  readonly installations: ForgeInstallation[] = [];
  readonly checkRuns: MergeCheckRun[] = [];
  readonly eventDeliveries: ForgeEventDelivery[] = [];
  /** Repositories (full name) where the merge check is Required (Premium, docs/forge.md §3.5). */
  readonly requiredIn = new Set<string>();
  /** Send `{payload, context}` instead of the bare event / invocation. */
  wrapBodies = false;
  private readonly pending = new Set<Promise<unknown>>();

  private constructor(
    private readonly sandbox: BitbucketSandbox,
    private readonly privateKey: CryptoKey,
    private readonly publicJwk: JWK,
    appId: string,
  ) {
    this.appId = appId;
    this.jwksUrl = `${sandbox.baseUrl}/forge/.well-known/jwks.json`;
    sandbox.forgeJwks = () => ({ keys: [this.publicJwk] });
    sandbox.eventListeners.push((repo, event, payload) => this.onBitbucketEvent(repo, event, payload));
  }

  static async create(sandbox: BitbucketSandbox, options: { appId?: string } = {}): Promise<SandboxForge> {
    const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
    const jwk = {
      ...(await exportJWK(publicKey)),
      kid: `forge/invocation-token/${randomUUID()}`,
      alg: 'RS256',
      use: 'sig',
    };
    return new SandboxForge(sandbox, privateKey, jwk, options.appId ?? `ari:cloud:ecosystem::app/${randomUUID()}`);
  }

  get kid(): string {
    return this.publicJwk.kid ?? '';
  }

  /** Installs the app into `workspace`; a reinstall gets a new installation id, as on Forge. */
  async install(input: { workspace: string; remoteBaseUrl: string }): Promise<ForgeInstallation> {
    const ws = this.sandbox.workspace(input.workspace);
    const { token, id } = this.sandbox.createAccessToken(
      { workspace: ws },
      FORGE_APP_SCOPES.flatMap((scope) => SANDBOX_SCOPES_OF[scope]),
      { name: 'clawgate (Forge app)' },
    );
    const installation: ForgeInstallation = {
      installationId: `ari:cloud:ecosystem::installation/${randomUUID()}`,
      workspaceUuid: ws.uuid,
      remoteBaseUrl: input.remoteBaseUrl.replace(/\/+$/, ''),
      systemToken: token,
      systemTokenId: id,
      status: 'installed',
    };
    for (const other of this.installations)
      if (other.workspaceUuid === ws.uuid && other.status === 'installed') other.status = 'uninstalled';
    this.installations.push(installation);
    const response = await this.post(installation, '/forge/lifecycle', {
      eventType: 'avi:forge:installed:app',
      id: bare(installation.installationId.split('/').pop() ?? ''),
      app: { id: this.appId, version: '1.0.0' },
    });
    if (response.status >= 300) throw new Error(`the remote refused the install: HTTP ${response.status}`);
    return installation;
  }

  /** preUninstall (its answer is ignored, as on Forge), then the installation and its token stop working. */
  async uninstall(installation: ForgeInstallation): Promise<void> {
    await this.post(installation, '/forge/pre-uninstall', {}).catch(() => undefined);
    installation.status = 'uninstalled';
    this.sandbox.revokeAccessToken(installation.systemTokenId);
  }

  installationFor(workspaceUuid: string): ForgeInstallation | undefined {
    return this.installations.find((i) => i.workspaceUuid === workspaceUuid && i.status === 'installed');
  }

  /** A Forge Invocation Token for `installation`. `claims` overrides or adds claims (forgery tests). */
  async mintFit(
    installation: ForgeInstallation,
    options: {
      principal?: string;
      context?: JsonObject;
      moduleKey?: string;
      expiresInSeconds?: number;
      claims?: Record<string, unknown>;
    } = {},
  ): Promise<string> {
    const now = Math.floor(this.sandbox.now() / 1000);
    const payload: Record<string, unknown> = {
      iss: 'forge/invocation-token',
      aud: this.appId,
      iat: now,
      nbf: now,
      exp: now + (options.expiresInSeconds ?? FIT_LIFETIME_SECONDS),
      jti: randomUUID(),
      app: {
        id: this.appId,
        appVersion: '1.0.0',
        installationId: installation.installationId,
        apiBaseUrl: this.sandbox.baseUrl,
        environment: { type: 'DEVELOPMENT', id: 'ari:cloud:ecosystem::environment/sandbox' },
        module: { type: 'core:endpoint', key: options.moduleKey ?? 'clawgate' },
        installation: {
          id: installation.installationId,
          contexts: [
            { name: 'bitbucket', apiBaseUrl: this.sandbox.baseUrl, workspaceId: bare(installation.workspaceUuid) },
          ],
        },
      },
      ...(options.context ? { context: options.context } : {}),
      ...(options.principal ? { principal: options.principal } : {}),
      // Last, so a test can replace any claim (forgeries).
      ...options.claims,
    };
    return new SignJWT(payload).setProtectedHeader({ alg: 'RS256', kid: this.kid }).sign(this.privateKey);
  }

  private async post(
    installation: ForgeInstallation,
    path: string,
    body: unknown,
    options: { principal?: string; context?: JsonObject; systemToken?: boolean; timeoutMs?: number } = {},
  ): Promise<{ status: number; body: unknown }> {
    const fit = await this.mintFit(installation, {
      ...(options.principal ? { principal: options.principal } : {}),
      ...(options.context ? { context: options.context } : {}),
    });
    const headers: Record<string, string> = {
      authorization: `Bearer ${fit}`,
      'content-type': 'application/json',
      'x-b3-traceid': randomUUID().replace(/-/g, ''),
    };
    if (options.systemToken !== false) headers['x-forge-oauth-system'] = installation.systemToken;
    const response = await fetch(`${installation.remoteBaseUrl}${path}`, {
      method: 'POST',
      headers,
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(options.timeoutMs ?? 25_000),
      redirect: 'manual',
    });
    let parsed: unknown;
    try {
      parsed = await response.json();
    } catch {
      parsed = undefined;
    }
    return { status: response.status, body: parsed };
  }

  // ------------------------------------------------------------------ product events

  private track<T>(promise: Promise<T>): Promise<T> {
    this.pending.add(promise);
    void promise.finally(() => this.pending.delete(promise)).catch(() => undefined);
    return promise;
  }

  /** Resolves when every event delivery and merge-check run started so far has finished. */
  async waitForIdle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  /** Delivers a product event with Forge's retries (4 attempts; no delay in the sandbox). */
  async deliverEvent(installation: ForgeInstallation, event: JsonObject, repo: string): Promise<ForgeEventDelivery> {
    const record: ForgeEventDelivery = { eventType: text(event.eventType) ?? '', attempts: [], repo };
    this.eventDeliveries.push(record);
    for (let attempt = 0; attempt < EVENT_ATTEMPTS; attempt += 1) {
      const retryContext =
        attempt === 0
          ? undefined
          : { retryData: null, retryCount: attempt, retryReason: 'INVALID_REMOTE_INVOCATION_ERROR' };
      const body = retryContext ? { ...event, retryContext } : event;
      const result = await this.post(
        installation,
        '/forge/events',
        this.wrapBodies ? { payload: body, context: {} } : body,
        { timeoutMs: 5_000 },
      ).catch(() => ({ status: 0, body: undefined }));
      record.attempts.push(result.status);
      if (result.status >= 200 && result.status < 300) break;
    }
    return record;
  }

  private productEvent(
    repo: Repository,
    eventType: string,
    payload: JsonObject,
    installation: ForgeInstallation,
  ): JsonObject {
    const actor = object(payload.actor);
    const appIdentity = this.sandbox.accessTokenBySha256(
      createHash('sha256').update(installation.systemToken).digest('hex'),
    )?.identity.uuid;
    return {
      eventType,
      selfGenerated: appIdentity !== undefined && text(actor?.uuid) === appIdentity,
      timestamp: new Date(this.sandbox.now()).toISOString(),
      actor: {
        type: text(actor?.type) ?? 'user',
        ...(text(actor?.account_id) ? { accountId: text(actor?.account_id) ?? '' } : {}),
        ...(text(actor?.uuid) ? { uuid: text(actor?.uuid) ?? '' } : {}),
      },
      workspace: { uuid: repo.workspace.uuid },
      repository: { uuid: repo.uuid, slug: repo.slug },
    };
  }

  private pullRequestPart(value: Json | undefined): JsonObject | undefined {
    const pr = object(value);
    if (pr === undefined || typeof pr.id !== 'number') return undefined;
    const endpoint = (side: Json | undefined): JsonObject => {
      const e = object(side);
      return {
        branch: { name: text(object(e?.branch)?.name) ?? '' },
        commit: { hash: text(object(e?.commit)?.hash) ?? '' },
      };
    };
    const author = object(pr.author);
    const merge = text(object(pr.merge_commit)?.hash);
    return {
      id: pr.id,
      state: text(pr.state) ?? 'OPEN',
      source: endpoint(pr.source),
      destination: endpoint(pr.destination),
      ...(author
        ? {
            author: {
              type: 'user',
              ...(text(author.uuid) ? { uuid: text(author.uuid) ?? '' } : {}),
              ...(text(author.account_id) ? { accountId: text(author.account_id) ?? '' } : {}),
            },
          }
        : {}),
      ...(merge ? { mergeCommit: { hash: merge } } : {}),
    };
  }

  /** Bitbucket event (webhook name and payload) → product event body; null for events Forge has no counterpart for here. */
  private toProductEvent(
    repo: Repository,
    event: string,
    payload: JsonObject,
    installation: ForgeInstallation,
  ): JsonObject | null {
    const pullrequestEvents: Record<string, string> = {
      'pullrequest:created': 'avi:bitbucket:created:pullrequest',
      'pullrequest:updated': 'avi:bitbucket:updated:pullrequest',
      'pullrequest:fulfilled': 'avi:bitbucket:fulfilled:pullrequest',
      'pullrequest:rejected': 'avi:bitbucket:rejected:pullrequest',
      'pullrequest:approved': 'avi:bitbucket:updated:pullrequest-reviewer-status',
      'pullrequest:unapproved': 'avi:bitbucket:updated:pullrequest-reviewer-status',
      'pullrequest:comment_created': 'avi:bitbucket:created:pullrequest-comment',
    };
    const prType = pullrequestEvents[event];
    if (prType !== undefined) {
      const pullrequest = this.pullRequestPart(payload.pullrequest);
      if (pullrequest === undefined) return null;
      const comment = object(payload.comment);
      return {
        ...this.productEvent(repo, prType, payload, installation),
        pullrequest,
        ...(comment && typeof comment.id === 'number'
          ? { comment: { id: comment.id, content: { raw: text(object(comment.content)?.raw) ?? '' } } }
          : {}),
      };
    }
    if (event === 'repo:push') {
      const change = object((object(payload.push)?.changes as Json[] | undefined)?.[0]);
      if (change === undefined) return null;
      const oldRef = object(change.old);
      const newRef = object(change.new);
      const name = text(newRef?.name) ?? text(oldRef?.name) ?? '';
      const commits = ((change.commits as Json[] | undefined) ?? []).map((c) => ({
        hash: text(object(c)?.hash) ?? '',
        message: text(object(c)?.message) ?? '',
      }));
      return {
        ...this.productEvent(repo, 'avi:bitbucket:push:repository', payload, installation),
        push: {
          ref: { name, type: text(newRef?.type) ?? text(oldRef?.type) ?? 'branch' },
          mainbranch: name === repo.mainBranch,
          before: text(object(oldRef?.target)?.hash) ?? null,
          after: text(object(newRef?.target)?.hash) ?? null,
          created: oldRef === undefined,
          closed: newRef === undefined,
          forced: change.forced === true,
          truncated: change.truncated === true,
          commits,
        },
      };
    }
    if (event === 'repo:commit_status_created' || event === 'repo:commit_status_updated') {
      const status = object(payload.commit_status);
      if (status === undefined) return null;
      const commit = text(object(status.commit)?.hash) ?? '';
      return {
        ...this.productEvent(
          repo,
          event.endsWith('created') ? 'avi:bitbucket:created:build-status' : 'avi:bitbucket:updated:build-status',
          payload,
          installation,
        ),
        buildStatus: {
          key: text(status.key) ?? '',
          state: text(status.state) ?? '',
          url: text(status.url) ?? '',
          description: text(status.description) ?? '',
          refName: text(status.refname) ?? null,
          commit: { hash: commit },
        },
      };
    }
    return null;
  }

  private onBitbucketEvent(repo: Repository, event: string, payload: JsonObject): void {
    const installation = this.installationFor(repo.workspace.uuid);
    if (installation === undefined) return;
    const productEvent = this.toProductEvent(repo, event, payload, installation);
    if (productEvent !== null) this.track(this.deliverEvent(installation, productEvent, repo.fullName));
    // Merge checks run on pushes to an open PR's source branch and on reviewer status changes.
    if (event === 'repo:push') {
      const branch = text(object(object((object(payload.push)?.changes as Json[] | undefined)?.[0])?.new)?.name);
      for (const pr of repo.pullRequests.values()) {
        if (pr.state === 'OPEN' && pr.sourceBranch === branch)
          this.track(this.runMergeCheck(repo.fullName, pr.id, 'on-code-pushed'));
      }
    }
    if (event === 'pullrequest:approved' || event === 'pullrequest:unapproved') {
      const id = object(payload.pullrequest)?.id;
      if (typeof id === 'number') this.track(this.runMergeCheck(repo.fullName, id, 'on-reviewer-status-changed'));
    }
  }

  // ------------------------------------------------------------------ merge check

  /** Invokes the merge check; anything but a 2xx `{success: true}` is a failure. */
  async runMergeCheck(repoRef: string, prId: number, trigger: MergeCheckRun['trigger']): Promise<MergeCheckRun> {
    const repo = this.sandbox.repository(repoRef);
    const installation = this.installationFor(repo.workspace.uuid);
    if (installation === undefined) throw new Error(`the Forge app is not installed in ${repo.workspace.slug}`);
    const pr = this.sandbox.pullRequest(repo, prId);
    const invocation: JsonObject = {
      workspace: { uuid: repo.workspace.uuid },
      repository: { uuid: repo.uuid },
      pullrequest: { id: pr.id },
      trigger: { type: trigger },
      ...(trigger === 'on-merge'
        ? {
            mergeProperties: {
              commitMessage: pr.title,
              commitMessageTruncated: false,
              mergeStrategy: 'merge_commit',
              closeSourceBranch: false,
            },
          }
        : {}),
    };
    let run: MergeCheckRun;
    try {
      const result = await this.post(
        installation,
        '/forge/merge-check',
        this.wrapBodies ? { payload: invocation, context: {} } : invocation,
      );
      const body = object(result.body as Json | undefined);
      const ok = result.status >= 200 && result.status < 300 && body !== undefined && typeof body.success === 'boolean';
      run = {
        repo: repo.fullName,
        prId,
        trigger,
        success: ok && body?.success === true,
        message: ok ? (text(body?.message) ?? '') : `the check failed (HTTP ${result.status})`,
        httpStatus: result.status,
      };
    } catch (error) {
      run = {
        repo: repo.fullName,
        prId,
        trigger,
        success: false,
        message: `the check failed (${error instanceof Error ? error.message : String(error)})`,
        httpStatus: null,
      };
    }
    this.checkRuns.push(run);
    return run;
  }

  /** Clicking Merge: the on-merge check runs first; a Required failing check aborts the merge. */
  async merge(
    repoRef: string,
    prId: number,
    input: { actor: UserRef },
  ): Promise<{ merged: boolean; check: MergeCheckRun }> {
    const repo = this.sandbox.repository(repoRef);
    const check = await this.runMergeCheck(repo.fullName, prId, 'on-merge');
    if (!check.success && this.requiredIn.has(repo.fullName)) throw new MergeRefusedError(check.message);
    this.sandbox.merge(repo, prId, { actor: input.actor });
    return { merged: true, check };
  }

  // ------------------------------------------------------------------ Custom UI bridge

  /** `invokeRemote({path, method, headers, body})` from a Custom UI page, as the signed-in `accountId`. */
  async invokeRemote(input: {
    workspace: string;
    accountId: string;
    path: string;
    method?: string;
    headers?: Record<string, string>;
    body?: unknown;
    context?: JsonObject;
  }): Promise<InvokeRemoteResult> {
    const ws = this.sandbox.workspace(input.workspace);
    const installation = this.installationFor(ws.uuid);
    if (installation === undefined) throw new Error(`the Forge app is not installed in ${ws.slug}`);
    if (!input.path.startsWith('/')) throw new Error('invokeRemote path must start with /');
    const fit = await this.mintFit(installation, {
      principal: input.accountId,
      context: { workspaceId: ws.uuid, ...input.context },
    });
    const headers: Record<string, string> = {
      ...input.headers,
      authorization: `Bearer ${fit}`,
      'x-forge-oauth-system': installation.systemToken,
    };
    const method = (input.method ?? 'GET').toUpperCase();
    if (input.body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${installation.remoteBaseUrl}${input.path}`, {
      method,
      headers,
      redirect: 'manual',
      ...(input.body !== undefined
        ? { body: typeof input.body === 'string' ? input.body : JSON.stringify(input.body) }
        : {}),
    });
    const out: Record<string, string[]> = {};
    response.headers.forEach((value, key) => {
      out[key] = [value];
    });
    const raw = await response.text();
    let body: unknown;
    try {
      body = raw === '' ? undefined : JSON.parse(raw);
    } catch {
      body = raw;
    }
    return { status: response.status, headers: out, ...(body !== undefined ? { body } : {}) };
  }

  /**
   * The Custom UI bridge (`globalThis.__bridge.callBridge`) of one page, as Forge's iframe host answers
   * it: `getContext` (module key, workspace, extension) and `invoke` (`invokeRemote`: the remote's
   * answer as `{success, payload: {status, headers, body}}`). Other bridge calls are refused.
   */
  bridge(input: {
    workspace: string;
    accountId: string;
    moduleKey: string;
    extension?: JsonObject;
  }): (name: string, payload: unknown) => Promise<unknown> {
    const ws = this.sandbox.workspace(input.workspace);
    const context: JsonObject = {
      workspaceId: ws.uuid,
      moduleKey: input.moduleKey,
      extension: input.extension ?? {},
      accountId: input.accountId,
      locale: 'en-US',
    };
    return async (name, payload) => {
      if (name === 'getContext') return context;
      if (name !== 'invoke') throw new Error(`the sandbox Forge bridge does not implement ${name}`);
      const call = object(payload as Json) ?? {};
      const path = text(call.path);
      if (path === undefined) throw new Error('invokeRemote needs a path');
      const headers = object(call.headers);
      const result = await this.invokeRemote({
        workspace: ws.slug,
        accountId: input.accountId,
        path,
        method: text(call.method) ?? 'GET',
        ...(headers ? { headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, String(v)])) } : {}),
        ...(call.body !== undefined ? { body: call.body } : {}),
        context: { moduleKey: input.moduleKey, extension: input.extension ?? {} },
      });
      return { success: true, payload: result };
    };
  }
}
