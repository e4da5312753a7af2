import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startSandbox, type BitbucketSandbox } from '../../src/sandbox';
import type { ClawgateServer } from '../../src/server/create-server';
import type { AuditEvent, EvaluationRecord } from '../../src/store';
import { callApi, startTestClawgate, waitFor } from './harness';

/** A sandbox and a real clawgate (SQLite file, table queue) for the issue-4 e2e tests. */
export interface World {
  sandbox: BitbucketSandbox;
  app: ClawgateServer;
  dir: string;
  close(): Promise<void>;
}

export const ADMIN_TOKEN = 'operations-admin-token-0123456789ab';

export async function startWorld(
  options: { rateLimitPerHour?: number; env?: Record<string, string> } = {},
): Promise<World> {
  const sandbox = await startSandbox(
    options.rateLimitPerHour !== undefined ? { rateLimitPerHour: options.rateLimitPerHour } : {},
  );
  const dir = mkdtempSync(path.join(tmpdir(), 'clawgate-operations-'));
  // clawgate's own API budget mirrors the limit the sandbox enforces (docs/operations.md, CLAWGATE_API_CALLS_PER_HOUR).
  const budget: Record<string, string> =
    options.rateLimitPerHour !== undefined ? { CLAWGATE_API_CALLS_PER_HOUR: String(options.rateLimitPerHour) } : {};
  const app = await startTestClawgate(sandbox, {
    databaseUrl: `sqlite:${path.join(dir, 'db.sqlite')}`,
    env: { CLAWGATE_ADMIN_TOKEN: ADMIN_TOKEN, ...budget, ...options.env },
    pollIntervalMs: 25,
  });
  return {
    sandbox,
    app,
    dir,
    async close() {
      await app.close();
      await sandbox.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Waits until every webhook was delivered and every job clawgate queued has finished. */
export async function settle(world: World, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  // Twice: a finished job may have written a status whose webhook queues another job.
  for (let round = 0; round < 2; round += 1) {
    await world.sandbox.waitForDeliveries();
    await waitFor(
      async () =>
        (await world.app.store.jobs.list()).every((j) => j.state !== 'pending' && j.state !== 'running')
          ? true
          : undefined,
      Math.max(1, deadline - Date.now()),
      'the job queue to drain',
    );
    await new Promise((resolve) => setTimeout(resolve, 60));
  }
  await world.sandbox.waitForDeliveries();
  await waitFor(
    async () =>
      (await world.app.store.jobs.list()).every((j) => j.state !== 'pending' && j.state !== 'running')
        ? true
        : undefined,
    Math.max(1, deadline - Date.now()),
    'the job queue to drain',
  );
}

export async function workspaceIdOf(world: World, slug = 'acme'): Promise<string> {
  const resolved = await world.app.store.tenants.resolveWorkspace(slug);
  if (!resolved) throw new Error(`no workspace ${slug}`);
  return resolved.workspaceId;
}

export async function auditOfKind(world: World, kind: string): Promise<AuditEvent[]> {
  return world.app.store.audit.query(await workspaceIdOf(world), { kinds: [kind] });
}

export async function evaluationsOf(world: World, prId: number, repo = 'acme/proj-web'): Promise<EvaluationRecord[]> {
  return world.app.store.evaluations.listForPullRequest(await workspaceIdOf(world), repo, prId);
}

/** Waits for the PR's evaluation count to reach `count`; returns the newest. */
export async function evaluationNumber(
  world: World,
  prId: number,
  count: number,
  repo = 'acme/proj-web',
): Promise<EvaluationRecord> {
  return waitFor(
    async () => {
      const list = await evaluationsOf(world, prId, repo);
      return list.length >= count ? list[0] : undefined;
    },
    15_000,
    `evaluation #${count} of PR ${prId}`,
  );
}

/** The `clawgate` status on a commit, straight from the sandbox. */
export function clawgateStatusOn(
  world: World,
  commit: string,
  repo = 'acme/proj-web',
): Record<string, unknown> | undefined {
  return world.sandbox.getStatuses(repo, commit).find((s) => s.key === 'clawgate');
}

/** Status writes clawgate (not a user) made on a commit. */
export function appStatusWrites(
  world: World,
  commit: string,
): { state?: string; description?: string; url?: string }[] {
  return world.sandbox.received.statuses
    .filter((w) => w.commit === commit && !w.principal.startsWith('user:'))
    .map((w) => w.body as { state?: string; description?: string; url?: string });
}

/** Uploads a WPC and returns its hash. */
export async function uploadPolicy(world: World, bearer: string, wpc: unknown): Promise<string> {
  const response = await callApi(world.app.url, 'POST', '/api/v1/workspaces/acme/policies', bearer, wpc);
  if (response.status !== 201) throw new Error(`policy upload: ${response.status} ${JSON.stringify(response.json)}`);
  return String(response.json.policy_hash_b64u);
}
