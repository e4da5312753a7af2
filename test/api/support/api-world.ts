import { randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { encodeSymmetric } from 'atlassian-jwt';
import express from 'express';
import pino from 'pino';
import request from 'supertest';
import { createApiRouter, type RecheckPullRequest } from '../../../src/api';
import type { ConnectWriteAccess } from '../../../src/http/authenticate';
import { openStore, type Store } from '../../../src/store';

/**
 * A real HTTP server on 127.0.0.1 (port 0) serving the API router over a real store, with two
 * installed Connect workspaces A and B. Each workspace's first API token is created the way a
 * Connect tenant does it: POST /tokens with a context JWT from the app's page.
 */

export const TEST_SECRET_KEY = Buffer.alloc(32, 9);
export const APP_BASE_URL = 'https://clawgate.example.test';
/** The `sub` of the page JWTs the fixture signs by default. */
export const PAGE_USER = '557058:page-user';

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
  readonly connectWriteAccess?: ConnectWriteAccess;
}

export function contextJwt(clientKey: string, sharedSecret: string, claims: Record<string, unknown> = {}): string {
  const now = Math.floor(Date.now() / 1000);
  return encodeSymmetric({ iss: clientKey, sub: PAGE_USER, iat: now, exp: now + 180, qsh: 'context-qsh', ...claims }, sharedSecret);
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
  const app = express();
  app.use(
    '/api/v1',
    createApiRouter({
      config: { baseUrl: APP_BASE_URL, maxBodyBytes: options.maxBodyBytes ?? 1024 * 1024, maxBundleBytes: options.maxBundleBytes ?? 256 * 1024 },
      store,
      logger: pino({ level: 'silent' }),
      ...(options.recheck === false ? {} : { recheck }),
      ...(options.connectWriteAccess !== undefined ? { connectWriteAccess: options.connectWriteAccess } : {}),
    }),
  );
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  async function withFirstToken(base: Omit<TestWorkspace, 'token' | 'tokenId' | 'jwt'>): Promise<TestWorkspace> {
    const jwt = (claims?: Record<string, unknown>) => contextJwt(base.clientKey, base.sharedSecret, claims);
    const response = await request(url).post(`/api/v1/workspaces/${base.slug}/tokens`).set('Authorization', `JWT ${jwt()}`).send({ label: 'ci' });
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
