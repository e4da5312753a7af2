import { randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { encodeSymmetric } from 'atlassian-jwt';
import express from 'express';
import pino from 'pino';
import request from 'supertest';
import { createApiRouter, type ApiRateLimitSettings, type RecheckPullRequest } from '../../../src/api';
import type { RepositoryPermission } from '../../../src/bitbucket';
import {
  createViewerPermissions,
  type ViewerPermissionClient,
  type ViewerPermissions,
} from '../../../src/http/viewer-permissions';
import { openStore, type Store } from '../../../src/store';
import type { Verifier } from '../../../src/verification';

/**
 * A real HTTP server on 127.0.0.1 (port 0) serving the API router over a real store, with two
 * installed Connect workspaces A and B. Each workspace's first API token is created the way a
 * Connect tenant does it: POST /tokens with a context JWT from the app's page.
 */

export const TEST_SECRET_KEY = Buffer.alloc(32, 9);
export const APP_BASE_URL = 'https://clawgate.example.test';
/** The `sub` of the page JWTs the fixture signs by default: a workspace admin (owner) of A and B. */
export const PAGE_USER = '557058:page-user';

/**
 * What "Bitbucket" says about page users, standing in for its permissions API (the real lookup and
 * cache, createViewerPermissions, run on top). Mutable: tests change it. Accounts are as the JWT's sub.
 */
export interface ViewerTable {
  /** Accounts whose workspace role is `owner` (in every workspace of the world). */
  owners: Set<string>;
  /** account → repository slug → permission (absent: none). */
  repositories: Map<string, Map<string, RepositoryPermission>>;
  /** account → `{uuid}` Bitbucket answers for it (absent: none named). */
  uuids: Map<string, string>;
  /** Every question asked of "Bitbucket", for cache assertions. */
  asked: string[];
  /** When true, "Bitbucket" fails every permission request (outage). */
  down: boolean;
}

export function grant(table: ViewerTable, account: string, repoSlug: string, permission: RepositoryPermission): void {
  const repos = table.repositories.get(account) ?? new Map<string, RepositoryPermission>();
  repos.set(repoSlug, permission);
  table.repositories.set(account, repos);
}

function viewerClient(table: ViewerTable): ViewerPermissionClient {
  const accountKey = (account: { uuid: string } | { accountId: string }): string =>
    'uuid' in account ? account.uuid : account.accountId;
  return {
    async getRepositoryAccess(_workspace, repoSlug, account) {
      const key = accountKey(account);
      table.asked.push(`repo:${key}:${repoSlug}`);
      if (table.down) throw new Error('bitbucket unavailable');
      // A workspace owner is an admin of every repository, as Bitbucket lists it.
      const permission = table.repositories.get(key)?.get(repoSlug) ?? (table.owners.has(key) ? 'admin' : 'none');
      return { permission, accountUuid: table.uuids.get(key) ?? ('uuid' in account ? account.uuid : null) };
    },
    async getWorkspacePermission(_workspace, account) {
      const key = accountKey(account);
      table.asked.push(`workspace:${key}`);
      if (table.down) throw new Error('bitbucket unavailable');
      return table.owners.has(key) ? 'owner' : null;
    },
  };
}

export interface TestWorkspace {
  readonly id: string;
  readonly slug: string;
  readonly clientKey: string;
  readonly sharedSecret: string;
  /** A Bearer token created through the API (with the page JWT). */
  readonly token: string;
  readonly tokenId: string;
  /** A context JWT as AP.context.getToken() would give it (qsh `context-qsh`). */
  jwt(claims?: Record<string, unknown>): string;
}

export interface RecordedRecheck {
  readonly workspaceId: string;
  readonly repoFullName: string;
  readonly prId: number;
  readonly actor: string;
}

export interface ApiWorld {
  readonly url: string;
  readonly store: Store;
  readonly a: TestWorkspace;
  readonly b: TestWorkspace;
  readonly rechecks: RecordedRecheck[];
  /** What "Bitbucket" answers about page users (see ViewerTable). */
  readonly viewers: ViewerTable;
  /** supertest agent against the running server. */
  http(): ReturnType<typeof request>;
  close(): Promise<void>;
}

export interface ApiWorldOptions {
  readonly databaseUrl?: string;
  readonly maxBundleBytes?: number;
  readonly maxBodyBytes?: number;
  /** false: no pipeline wired (recheck answers 501). */
  readonly recheck?: boolean;
  /** Replaces the ViewerTable-backed permissions (e.g. none at all: pass null). */
  readonly viewerPermissions?: ViewerPermissions | null;
  readonly rateLimits?: Partial<ApiRateLimitSettings>;
  /** The verification pool upload bodies are parsed in (default: on the calling thread). */
  readonly verifier?: Verifier;
}

export function contextJwt(clientKey: string, sharedSecret: string, claims: Record<string, unknown> = {}): string {
  const now = Math.floor(Date.now() / 1000);
  return encodeSymmetric(
    { iss: clientKey, sub: PAGE_USER, iat: now, exp: now + 180, qsh: 'context-qsh', ...claims },
    sharedSecret,
  );
}

async function installWorkspace(store: Store, slug: string): Promise<Omit<TestWorkspace, 'token' | 'tokenId' | 'jwt'>> {
  const id = `{${randomUUID()}}`;
  const clientKey = `connect:${randomUUID()}`;
  const sharedSecret = randomBytes(32).toString('base64url');
  await store.tenants.upsertInstall({
    workspaceId: id,
    workspaceSlug: slug,
    surface: 'connect',
    clientKey,
    sharedSecret,
    baseUrl: 'https://bitbucket.org',
    baseApiUrl: 'https://api.bitbucket.org',
    verified: true,
    actor: 'test',
  });
  return { id, slug, clientKey, sharedSecret };
}

export async function createApiWorld(options: ApiWorldOptions = {}): Promise<ApiWorld> {
  const store = await openStore(options.databaseUrl ?? 'sqlite::memory:', { secretKey: TEST_SECRET_KEY });
  const rechecks: RecordedRecheck[] = [];
  const recheck: RecheckPullRequest = async (workspaceId, repoFullName, prId, actor) => {
    rechecks.push({ workspaceId, repoFullName, prId, actor });
    return { jobId: `job-${rechecks.length}` };
  };
  const viewers: ViewerTable = {
    owners: new Set([PAGE_USER]),
    repositories: new Map(),
    uuids: new Map([[PAGE_USER, '{9a9a9a9a-0000-4000-8000-000000000001}']]),
    asked: [],
    down: false,
  };
  const viewerPermissions =
    options.viewerPermissions === undefined
      ? createViewerPermissions({ clientFor: async () => viewerClient(viewers), logger: pino({ level: 'silent' }) })
      : options.viewerPermissions;
  const app = express();
  app.use(
    '/api/v1',
    createApiRouter({
      config: {
        baseUrl: APP_BASE_URL,
        maxBodyBytes: options.maxBodyBytes ?? 1024 * 1024,
        maxBundleBytes: options.maxBundleBytes ?? 256 * 1024,
      },
      store,
      logger: pino({ level: 'silent' }),
      ...(options.recheck === false ? {} : { recheck }),
      ...(viewerPermissions !== null ? { viewerPermissions } : {}),
      ...(options.rateLimits !== undefined ? { rateLimits: options.rateLimits } : {}),
      ...(options.verifier !== undefined ? { verifier: options.verifier } : {}),
    }),
  );
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  async function withFirstToken(base: Omit<TestWorkspace, 'token' | 'tokenId' | 'jwt'>): Promise<TestWorkspace> {
    const jwt = (claims?: Record<string, unknown>) => contextJwt(base.clientKey, base.sharedSecret, claims);
    const response = await request(url)
      .post(`/api/v1/workspaces/${base.slug}/tokens`)
      .set('Authorization', `JWT ${jwt()}`)
      .send({ label: 'ci' });
    if (response.status !== 201) throw new Error(`first token: ${response.status} ${JSON.stringify(response.body)}`);
    const body = response.body as { id: string; token: string };
    return { ...base, token: body.token, tokenId: body.id, jwt };
  }

  const a = await withFirstToken(await installWorkspace(store, `ws-a-${randomBytes(3).toString('hex')}`));
  const b = await withFirstToken(await installWorkspace(store, `ws-b-${randomBytes(3).toString('hex')}`));
  return {
    url,
    store,
    a,
    b,
    rechecks,
    viewers,
    http: () => request(url),
    async close() {
      await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
      await store.close();
    },
  };
}

/** What a workspace has stored, to assert that a refused request changed nothing. */
export async function storedState(store: Store, workspaceId: string): Promise<Record<string, unknown>> {
  const [settings, policies, assignments, tokens, audit] = await Promise.all([
    store.settings.get(workspaceId),
    store.policies.list(workspaceId, { includeRetired: true }),
    store.assignments.list(workspaceId),
    store.apiTokens.list(workspaceId),
    store.audit.query(workspaceId, { limit: 10_000 }),
  ]);
  return {
    settingsVersion: settings.version,
    settings: settings.settings,
    policies: policies.map((policy) => policy.policyHashB64u),
    assignments,
    tokens: tokens.map((token) => [token.id, token.revokedAt]),
    auditIds: audit.map((event) => event.id),
  };
}

export function bearer(workspace: TestWorkspace): [string, string] {
  return ['Authorization', `Bearer ${workspace.token}`];
}
