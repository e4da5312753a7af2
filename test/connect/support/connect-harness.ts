import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import pino from 'pino';
import { loadAppConfig, type AppConfig } from '../../../src/config/app-config';
import { createConnectRouter } from '../../../src/connect';
import type { WebhookDelivery, WebhookIntake, WebhookIntakeResult } from '../../../src/pipeline/webhook-intake';
import { startSandbox, type BitbucketSandbox, type User, type Workspace } from '../../../src/sandbox';
import { openStore, type Store } from '../../../src/store';
import { activeTenantClient } from '../../../src/pipeline/bitbucket-for-tenant';
import { createViewerPermissions } from '../../../src/http/viewer-permissions';

/**
 * clawgate's Connect router mounted on a real express app (127.0.0.1, any port), a real in-memory
 * SQLite store, and a real sandbox Bitbucket with workspace `acme` (repo `acme/widgets`, users ann and
 * bob). The intake is a recorder: it is the boundary to the pipeline, not our code under test.
 */

export class RecordingIntake implements WebhookIntake {
  readonly calls: WebhookDelivery[] = [];
  /** When set, receive() records the call and then throws it. */
  failWith: Error | null = null;

  async receive(delivery: WebhookDelivery): Promise<WebhookIntakeResult> {
    this.calls.push(delivery);
    if (this.failWith !== null) throw this.failWith;
    return { accepted: true, duplicate: false, jobs: 1 };
  }
}

export interface HarnessOptions {
  /** Put the sandbox's host:port in CLAWGATE_ALLOWED_HOSTS (default true). */
  allowSandboxHost?: boolean;
  appKey?: string;
}

export interface ConnectHarness {
  sandbox: BitbucketSandbox;
  store: Store;
  intake: RecordingIntake;
  config: AppConfig;
  /** The app's base URL (http://127.0.0.1:port). */
  baseUrl: string;
  descriptorUrl: string;
  acme: Workspace;
  ann: User;
  bob: User;
  /** Every log line the router wrote (level trace and up). */
  logs: string[];
  close(): Promise<void>;
}

export async function startConnectHarness(options: HarnessOptions = {}): Promise<ConnectHarness> {
  const sandbox = await startSandbox();
  const acme = sandbox.createWorkspace({ slug: 'acme', name: 'Acme' });
  const ann = sandbox.createUser({ nickname: 'ann', displayName: 'Ann Agent' });
  const bob = sandbox.createUser({ nickname: 'bob', displayName: 'Bob Reviewer' });
  sandbox.createRepository({
    workspace: 'acme',
    slug: 'widgets',
    files: { 'README.md': '# widgets\n' },
    author: ann,
    date: Date.UTC(2026, 0, 1),
  });

  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const sandboxHost = new URL(sandbox.baseUrl).host;
  const config = loadAppConfig({
    APP_BASE_URL: baseUrl,
    DATABASE_URL: 'sqlite::memory:',
    CONNECT_APP_KEY: options.appKey ?? 'clawgate-test',
    CLAWGATE_ALLOWED_HOSTS:
      options.allowSandboxHost === false
        ? 'bitbucket.org,api.bitbucket.org'
        : `bitbucket.org,api.bitbucket.org,${sandboxHost}`,
    CLAWGATE_HOST_SCRIPT_URL: `${sandbox.baseUrl}/atlassian-connect/all.js`,
  });
  const store = await openStore('sqlite::memory:', { secretKey: randomBytes(32) });
  const intake = new RecordingIntake();
  const logs: string[] = [];
  const logger = pino({ level: 'trace' }, { write: (line: string) => void logs.push(line) });

  const app = express();
  app.disable('x-powered-by');
  // Page links ask the sandbox (standing in for Bitbucket) whether the viewer may read the repository.
  const viewerPermissions = createViewerPermissions({
    clientFor: activeTenantClient({ store, config, logger }),
    logger,
  });
  app.use(
    createConnectRouter({ config, store, intake, logger, viewerPermissions, installProofRetryDelaysMs: [10, 20] }),
  );
  server.on('request', app);

  return {
    sandbox,
    store,
    intake,
    config,
    baseUrl,
    descriptorUrl: `${baseUrl}/atlassian-connect.json`,
    acme,
    ann,
    bob,
    logs,
    close: async () => {
      await sandbox.waitForDeliveries();
      await sandbox.close();
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
      await store.close();
    },
  };
}

/** Everything the store holds about a workspace's tenants and audit trail, secrets included (to prove nothing changed). */
export async function storeSnapshot(store: Store, workspaceIds: readonly string[]): Promise<string> {
  const parts: unknown[] = [];
  for (const workspaceId of workspaceIds) {
    const tenants = await store.tenants.listForWorkspace(workspaceId);
    const audit = await store.audit.query(workspaceId);
    parts.push({
      tenants: tenants.map((t) => ({
        ...t,
        sharedSecret: t.sharedSecret?.reveal() ?? null,
        accessToken: t.accessToken?.reveal() ?? null,
      })),
      audit: audit.map((a) => a.id),
    });
  }
  return JSON.stringify(parts);
}

export interface HttpResult {
  status: number;
  headers: Headers;
  text: string;
  json: unknown;
}

export async function send(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<HttpResult> {
  const res = await fetch(url, {
    method: init.method ?? 'GET',
    headers: init.headers ?? {},
    body: init.body,
    redirect: 'manual',
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text) as unknown;
  } catch {
    json = null;
  }
  return { status: res.status, headers: res.headers, text, json };
}
