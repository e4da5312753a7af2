import { loadAppConfig } from '../../src/config/app-config';
import { buildDescriptor } from '../../src/connect';
import { SandboxForge, startSandbox, type BitbucketSandbox, type ForgeInstallation } from '../../src/sandbox';
import type { ClawgateServer } from '../../src/server/create-server';
import { finalStatus, openAgentPullRequest, prepareWorkspace, waitFor } from '../e2e/harness';
import { prepareForgeWorkspace, startForgeClawgate, uiCall } from '../e2e/forge-harness';

/**
 * What the Forge front door does with installations and product events: events feed the one pipeline
 * (acked fast, deduped across Forge's retries, clawgate's own echoes ignored); a reinstall or a move
 * from Connect keeps the workspace's data under one tenant; `preUninstall` and superseded
 * installations stop being accepted; Connect and Forge both installed evaluate each change once.
 */

async function post(
  app: ClawgateServer,
  forge: SandboxForge,
  installation: ForgeInstallation,
  path: string,
  body: unknown,
): Promise<{ status: number; body: Record<string, unknown>; ms: number }> {
  const started = performance.now();
  const response = await fetch(`${app.url}${path}`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${await forge.mintFit(installation)}`,
      'x-forge-oauth-system': installation.systemToken,
      'content-type': 'application/json',
    },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  return {
    status: response.status,
    body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
    ms: performance.now() - started,
  };
}

async function evaluationsOf(app: ClawgateServer, workspaceUuid: string, head: string): Promise<number> {
  const events = await app.store.audit.query(workspaceUuid, { kinds: ['evaluation'] });
  return events.filter((event) => (event.after as { head?: string } | null)?.head === head).length;
}

describe('Forge product events and installations', () => {
  let sandbox: BitbucketSandbox;
  let forge: SandboxForge;
  let app: ClawgateServer;
  beforeEach(async () => {
    sandbox = await startSandbox();
    forge = await SandboxForge.create(sandbox);
    app = await startForgeClawgate(sandbox, forge);
  });
  afterEach(async () => {
    await forge.waitForIdle();
    await app.close();
    await sandbox.close();
  });

  test('a PR event is queued and acked fast; Forge retries of it are duplicates; selfGenerated is ignored', async () => {
    const ws = await prepareForgeWorkspace(sandbox, forge, app.url);
    const pr = openAgentPullRequest(sandbox, ws, 'agent/events', { 'src/e.ts': 'export const e = 1;\n' });
    await finalStatus(sandbox, pr.head);
    await forge.waitForIdle();
    const repo = sandbox.repository('acme/proj-web');
    const event = {
      eventType: 'avi:bitbucket:updated:pullrequest',
      selfGenerated: false,
      timestamp: '2026-12-07T00:00:00Z',
      actor: { type: 'user', uuid: ws.botUuid },
      workspace: { uuid: repo.workspace.uuid },
      repository: { uuid: repo.uuid, slug: 'proj-web' },
      pullrequest: {
        id: pr.prId,
        state: 'OPEN',
        source: { branch: { name: 'agent/events' }, commit: { hash: pr.head.slice(0, 12) } },
        destination: { branch: { name: 'main' }, commit: { hash: 'a'.repeat(12) } },
      },
    };
    const first = await post(app, forge, ws.installation, '/forge/events', event);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ accepted: true, duplicate: false });
    expect(first.ms).toBeLessThan(5_000);
    for (const retryCount of [1, 2, 3]) {
      const retry = await post(app, forge, ws.installation, '/forge/events', {
        payload: { ...event, retryContext: { retryData: null, retryCount, retryReason: 'TIMEOUT_ERROR' } },
      });
      expect(retry.body).toMatchObject({ accepted: false, duplicate: true, jobs: 0 });
    }
    const own = await post(app, forge, ws.installation, '/forge/events', {
      ...event,
      timestamp: '2026-12-07T00:00:01Z',
      selfGenerated: true,
    });
    expect(own.body).toEqual({ accepted: false, ignored: 'self_generated' });
    // clawgate's own build statuses came back from the sandbox marked selfGenerated, and were ignored.
    const statusEvents = forge.eventDeliveries.filter((d) => d.eventType.endsWith(':build-status'));
    expect(statusEvents.length).toBeGreaterThan(0);
    expect(statusEvents.every((d) => d.attempts[0] === 200)).toBe(true);
  }, 60_000);

  test('an event naming another workspace is refused; an unknown event type is acknowledged, not processed', async () => {
    const ws = await prepareForgeWorkspace(sandbox, forge, app.url);
    sandbox.createWorkspace({ slug: 'other' });
    const other = sandbox.createRepository({ workspace: 'other', slug: 'x' });
    const foreign = await post(app, forge, ws.installation, '/forge/events', {
      eventType: 'avi:bitbucket:created:pullrequest',
      workspace: { uuid: other.workspace.uuid },
      repository: { uuid: other.uuid },
      pullrequest: { id: 1, source: { commit: { hash: 'a'.repeat(12) } } },
    });
    expect(foreign.status).toBe(403);
    const repo = sandbox.repository('acme/proj-web');
    const unknown = await post(app, forge, ws.installation, '/forge/events', {
      eventType: 'avi:bitbucket:created:commit-comment',
      workspace: { uuid: repo.workspace.uuid },
      repository: { uuid: repo.uuid },
    });
    expect(unknown.body).toEqual({ accepted: false, ignored: 'event_not_handled' });
  }, 60_000);

  test('an unreadable or oversized body from a genuine installation is a JSON 400/413, not a crash', async () => {
    const ws = await prepareForgeWorkspace(sandbox, forge, app.url);
    const headers = async () => ({
      authorization: `Bearer ${await forge.mintFit(ws.installation)}`,
      'x-forge-oauth-system': ws.installation.systemToken,
      'content-type': 'application/json',
    });
    const malformed = await fetch(`${app.url}/forge/events`, {
      method: 'POST',
      headers: await headers(),
      body: '{"eventType":',
    });
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toMatchObject({ error: { code: 'MALFORMED_BODY' } });
    const huge = await fetch(`${app.url}/forge/merge-check`, {
      method: 'POST',
      headers: await headers(),
      body: JSON.stringify({ padding: 'x'.repeat(600 * 1024) }),
    });
    expect(huge.status).toBe(413);
    expect(huge.headers.get('content-type')).toContain('application/json');
  }, 60_000);

  test('a reinstall keeps settings, policies and evaluations; the superseded installation is refused', async () => {
    const ws = await prepareForgeWorkspace(sandbox, forge, app.url);
    const pr = openAgentPullRequest(sandbox, ws, 'agent/keep', { 'src/k.ts': 'export const k = 1;\n' });
    await finalStatus(sandbox, pr.head);
    await forge.waitForIdle();
    const old = ws.installation;
    const again = await forge.install({ workspace: 'acme', remoteBaseUrl: app.url });
    expect(again.installationId).not.toBe(old.installationId);
    const workspaceUuid = sandbox.workspace('acme').uuid;
    const tenants = await app.store.tenants.listForWorkspace(workspaceUuid);
    expect(tenants.map((t) => [t.clientKey, t.uninstalledAt === null])).toEqual([
      [old.installationId, false],
      [again.installationId, true],
    ]);
    const settings = await uiCall(forge, ws.aliceAccountId, 'GET', '/workspaces/acme/settings');
    expect(settings.body).toMatchObject({ mode: 'enforce' });
    const evaluations = await uiCall(
      forge,
      ws.aliceAccountId,
      'GET',
      `/workspaces/acme/evaluations?repo=acme/proj-web&pr=${pr.prId}`,
    );
    expect(JSON.stringify(evaluations.body)).toContain(pr.head);
    old.status = 'installed';
    const stale = await post(app, forge, old, '/forge/merge-check', {
      workspace: { uuid: workspaceUuid },
      repository: { uuid: sandbox.repository('acme/proj-web').uuid },
      pullrequest: { id: pr.prId },
      trigger: { type: 'on-merge' },
    });
    old.status = 'uninstalled';
    expect(stale.status).toBe(403);
    expect(stale.body).toMatchObject({ error: { code: 'UNINSTALLED' } });
  }, 60_000);

  test('preUninstall marks the installation uninstalled; its later calls are refused', async () => {
    const ws = await prepareForgeWorkspace(sandbox, forge, app.url);
    await forge.uninstall(ws.installation);
    const workspaceUuid = sandbox.workspace('acme').uuid;
    const [tenant] = await app.store.tenants.listForWorkspace(workspaceUuid);
    expect(tenant?.uninstalledAt).not.toBeNull();
    ws.installation.status = 'installed';
    const after = await post(app, forge, ws.installation, '/forge/events', {
      eventType: 'avi:bitbucket:push:repository',
      workspace: { uuid: workspaceUuid },
      repository: { uuid: sandbox.repository('acme/proj-web').uuid },
    });
    expect(after.status).toBe(403);
    const audit = await app.store.audit.query(workspaceUuid, { kinds: ['tenant.uninstalled'] });
    expect(audit.map((e) => e.actor)).toEqual(['forge:pre-uninstall']);
    // The app system token is not kept after the uninstall.
    const [after2] = await app.store.tenants.listForWorkspace(workspaceUuid);
    expect(after2?.accessToken).toBeNull();
  }, 60_000);
});

describe('Connect → Forge', () => {
  test('the Connect descriptor links the Forge app only when configured', () => {
    const base = { APP_BASE_URL: 'https://clawgate.example.com' };
    expect(buildDescriptor(loadAppConfig(base))).not.toHaveProperty('forgeAppId');
    const appId = 'ari:cloud:ecosystem::app/6d8a7a2e-1c55-4c0a-9a7e-5e0c2b8a1f00';
    const link =
      'https://developer.atlassian.com/console/install/6d8a7a2e-1c55-4c0a-9a7e-5e0c2b8a1f00?signature=abc&product=bitbucket';
    const descriptor = buildDescriptor(
      loadAppConfig({ ...base, CLAWGATE_FORGE_APP_ID: appId, CLAWGATE_FORGE_APP_LINK: link }),
    );
    expect(descriptor).toMatchObject({ forgeAppId: appId, forgeAppLink: link });
    expect(() => loadAppConfig({ ...base, CLAWGATE_FORGE_APP_ID: 'app/123' })).toThrow(/CLAWGATE_FORGE_APP_ID/);
  });

  test('a Connect workspace installs the Forge app: one tenant of data, each change evaluated once', async () => {
    const sandbox = await startSandbox();
    const forge = await SandboxForge.create(sandbox);
    const app = await startForgeClawgate(sandbox, forge);
    try {
      const ws = await prepareWorkspace(sandbox, app.url);
      const before = openAgentPullRequest(sandbox, ws, 'agent/connect', { 'src/c.ts': 'export const c = 1;\n' });
      await finalStatus(sandbox, before.head);
      const workspaceUuid = sandbox.workspace('acme').uuid;
      const installation = await forge.install({ workspace: 'acme', remoteBaseUrl: app.url });
      const tenants = await app.store.tenants.listForWorkspace(workspaceUuid);
      expect(tenants.map((t) => t.surface).sort()).toEqual(['connect', 'forge']);
      expect(tenants.every((t) => t.uninstalledAt === null)).toBe(true);
      // What Connect set up is there under Forge: the same settings and the earlier evaluation.
      const admin = sandbox.workspaceAdmin('acme').accountId;
      const settings = await uiCall(forge, admin, 'GET', '/workspaces/acme/settings');
      expect(settings.status).toBe(200);
      expect(settings.body).toMatchObject({ mode: 'enforce' });
      const earlier = await uiCall(
        forge,
        admin,
        'GET',
        `/workspaces/acme/evaluations?repo=acme/proj-web&pr=${before.prId}`,
      );
      expect(JSON.stringify(earlier.body)).toContain(before.head);
      // A new PR reaches clawgate through both front doors; it is evaluated once.
      const after = openAgentPullRequest(sandbox, ws, 'agent/both', { 'src/b.ts': 'export const b = 1;\n' });
      await finalStatus(sandbox, after.head);
      await sandbox.waitForDeliveries();
      await forge.waitForIdle();
      await waitFor(
        async () => ((await evaluationsOf(app, workspaceUuid, after.head)) >= 1 ? true : undefined),
        10_000,
        'the evaluation',
      );
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(await evaluationsOf(app, workspaceUuid, after.head)).toBe(1);
      expect(forge.eventDeliveries.some((d) => d.eventType === 'avi:bitbucket:created:pullrequest')).toBe(true);
      expect(installation.status).toBe('installed');
    } finally {
      await forge.waitForIdle();
      await app.close();
      await sandbox.close();
    }
  }, 60_000);
});
