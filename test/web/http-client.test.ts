import { randomUUID } from 'node:crypto';
import { evaluate } from '../../src/core/verdict';
import { verdictToJson } from '../../src/render/verdict-json';
import { makeBitbucketWpc, makeProofBundle, wpcHash } from '../../src/testkit';
import { ClientError, type ClawgateClient } from '../../src/web/client/clawgate-client';
import { createHttpClient } from '../../src/web/client/http-client';
import { createApiWorld, type ApiWorld } from '../api/support/api-world';

/**
 * The pages' one client interface (docs/architecture.md §2) over HTTP, against the real API router and store: every
 * call the pages make, the shapes they read, and the errors they explain.
 */

let world: ApiWorld;
let client: ClawgateClient;

beforeAll(async () => {
  world = await createApiWorld();
  client = createHttpClient({
    baseUrl: world.url,
    workspace: world.a.slug,
    authorization: () => Promise.resolve(`Bearer ${world.a.token}`),
  });
});

afterAll(async () => {
  await world.close();
});

describe('settings', () => {
  it('reads with a version and saves against it; a save over someone else’s is refused (412)', async () => {
    const first = await client.getSettings();
    expect(first.settings).toMatchObject({ mode: 'observe', frozen: false, trusted_gateways: [] });
    const saved = await client.saveSettings({ ...first.settings, mode: 'enforce', frozen: true }, first.version);
    expect(saved.settings).toMatchObject({ mode: 'enforce', frozen: true });
    expect(saved.version).not.toBe(first.version);
    const stale = client.saveSettings({ ...first.settings, mode: 'warn' }, first.version);
    await expect(stale).rejects.toMatchObject({ status: 412, code: 'VERSION_CONFLICT' });
    expect((await client.getSettings()).settings.mode).toBe('enforce');
  });

  it('a refused document becomes a ClientError with the server’s field paths', async () => {
    const current = await client.getSettings();
    const error: unknown = await client
      .saveSettings({ ...current.settings, trusted_gateways: [{ did: 'did:web:example.com' }] }, current.version)
      .catch((failure: unknown) => failure);
    expect(error).toBeInstanceOf(ClientError);
    expect(error).toMatchObject({
      status: 422,
      code: 'VALIDATION_FAILED',
      fields: [{ path: 'trusted_gateways[0].did', message: expect.stringContaining('did:key') }],
    });
  });
});

describe('policies and assignments', () => {
  it('uploads a WPC as typed, lists and reads it, assigns it', async () => {
    const wpc = { ...makeBitbucketWpc({ repos: [`${world.a.slug}/web`] }), policy_id: 'client-test' };
    const uploaded = await client.uploadPolicy(JSON.stringify(wpc, null, 2));
    expect(uploaded).toEqual({ hash: wpcHash(wpc), created: true });
    expect(await client.uploadPolicy(JSON.stringify(wpc))).toEqual({ hash: wpcHash(wpc), created: false });
    expect((await client.listPolicies()).map((policy) => policy.policy_hash_b64u)).toContain(uploaded.hash);
    expect((await client.getPolicy(uploaded.hash)).document).toMatchObject({ policy_id: 'client-test' });
    const saved = await client.saveAssignments([
      { repo: `${world.a.slug}/web`, policy_hash_b64u: uploaded.hash, mode: null },
    ]);
    expect(saved).toEqual([{ repo: `${world.a.slug}/web`, policy_hash_b64u: uploaded.hash, mode: null }]);
    expect(await client.getAssignments()).toEqual(saved);
    await expect(client.uploadPolicy('{"tool": "other"}')).rejects.toMatchObject({
      status: 422,
      code: 'INVALID_POLICY',
    });
  });
});

describe('tokens', () => {
  it('creates (shown once) with the scopes chosen, lists by prefix and scopes, revokes', async () => {
    const created = await client.createToken('from the page', ['read']);
    expect(created.token).toMatch(/^cgw_/);
    expect(created.scopes).toEqual(['read']);
    const listed = (await client.listTokens()).find((token) => token.id === created.id);
    expect(listed).toMatchObject({
      prefix: created.prefix,
      label: 'from the page',
      scopes: ['read'],
      revoked_at: null,
    });
    expect((await client.createToken(null)).scopes).toEqual(['bundles:write']);
    expect(JSON.stringify(await client.listTokens())).not.toContain(created.token);
    expect((await client.revokeToken(created.id)).revoked_at).toEqual(expect.any(String));
  });
});

describe('evaluations and bundles', () => {
  it('lists a PR’s evaluations, reads one with its verdict typed for display and kept as sent, downloads its bundle', async () => {
    const { envelope, bundleId } = makeProofBundle();
    await world
      .http()
      .post(`/api/v1/workspaces/${world.a.slug}/bundles`)
      .set('Authorization', `Bearer ${world.a.token}`)
      .send({ bundle: envelope })
      .expect(201);
    const verdict = verdictToJson(
      evaluate({
        nowMs: Date.now(),
        profile: 'protocol',
        settings: { mode: 'enforce', trustedGateways: [], cstIssuers: [] },
        bundle: envelope,
      }),
      `${world.a.slug}/web#4@${'a'.repeat(40)}`,
    );
    const id = randomUUID();
    await world.store.evaluations.insert(world.a.id, {
      id,
      repoFullName: `${world.a.slug}/web`,
      prId: 4,
      headSha: 'a'.repeat(40),
      state: String(verdict.state),
      mode: 'enforce',
      statusState: 'FAILED',
      verdict: { ...verdict, trigger: 'pullrequest:created' },
      bundleId,
      commits: ['a'.repeat(40)],
    });

    const [latest] = await client.listEvaluations(`${world.a.slug}/web`, 4, 1);
    expect(latest?.id).toBe(id);
    const detail = await client.getEvaluation(id);
    expect(detail.verdict).not.toBeNull();
    expect(detail.verdict?.receipts.gateway).toHaveLength(1);
    expect(detail.verdict?.receipts.gateway[0]).toMatchObject({
      provider: 'anthropic',
      model: 'claude-sonnet-4',
      tokensInput: 1200,
    });
    expect(detail.verdictJson).toEqual({ ...verdict, trigger: 'pullrequest:created' });

    const file = await client.downloadBundle(bundleId);
    expect(file.fileName).toBe(`${bundleId}.json`);
    expect(JSON.parse(await file.blob.text())).toEqual(envelope);
    await expect(client.getEvaluation(randomUUID())).rejects.toMatchObject({
      status: 404,
      code: 'EVALUATION_NOT_FOUND',
    });
  });

  it('re-checks a PR by its full name; an API-token session gets no details link', async () => {
    await client.recheck(`${world.a.slug}/web`, 9);
    expect(world.rechecks.at(-1)).toMatchObject({ repoFullName: `${world.a.slug}/web`, prId: 9 });
    expect(await client.detailsLink(randomUUID())).toBeNull();
  });
});

describe('audit', () => {
  it('reads events by kind and exports the log as JSON Lines and CSV', async () => {
    const events = await client.auditEvents({ limit: 100, kinds: ['settings.updated'] });
    expect(events.length).toBeGreaterThan(0);
    expect(new Set(events.map((event) => event.kind))).toEqual(new Set(['settings.updated']));
    const jsonl = await client.exportAudit('jsonl');
    expect(jsonl.fileName).toBe('clawgate-audit.jsonl');
    const lines = (await jsonl.blob.text()).trim().split('\n');
    expect(lines.length).toBeGreaterThan(events.length);
    const csv = await (await client.exportAudit('csv')).blob.text();
    expect(csv.split('\r\n')[0]).toBe('id,at,actor,kind,subject,repo,pr_id,before,after');
  });
});

describe('failures the pages explain', () => {
  it('no credential, a refused credential, an unreachable server', async () => {
    const signedOut = createHttpClient({
      baseUrl: world.url,
      workspace: world.a.slug,
      authorization: () => Promise.resolve(null),
    });
    await expect(signedOut.getSettings()).rejects.toMatchObject({ status: 401, code: 'NO_CREDENTIAL' });
    const wrong = createHttpClient({
      baseUrl: world.url,
      workspace: world.a.slug,
      authorization: () => Promise.resolve('Bearer cgw_not_a_token'),
    });
    await expect(wrong.getSettings()).rejects.toMatchObject({ status: 401, code: 'INVALID_CREDENTIALS' });
    const otherWorkspace = createHttpClient({
      baseUrl: world.url,
      workspace: world.b.slug,
      authorization: () => Promise.resolve(`Bearer ${world.a.token}`),
    });
    await expect(otherWorkspace.getSettings()).rejects.toMatchObject({ status: 403, code: 'WORKSPACE_FORBIDDEN' });
    const nowhere = createHttpClient({
      baseUrl: 'http://127.0.0.1:9',
      workspace: world.a.slug,
      authorization: () => Promise.resolve(`Bearer ${world.a.token}`),
    });
    await expect(nowhere.getSettings()).rejects.toMatchObject({ status: 0, code: 'NETWORK' });
  });
});
