import { jcsHashB64u } from '../../src/core/clawsig/hashing';
import { createTestKey, makeBitbucketWpc, type TestKey } from '../../src/testkit';
import { bearer, createApiWorld, storedState, type ApiWorld } from './support/api-world';

let world: ApiWorld;

beforeAll(async () => {
  world = await createApiWorld();
});

afterAll(async () => {
  await world.close();
});

const policiesPath = () => `/api/v1/workspaces/${world.a.slug}/policies`;

/** Reverses key order at every level: same JSON value, different text. */
function reordered(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reordered);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(
      Object.entries(value)
        .reverse()
        .map(([key, child]) => [key, reordered(child)]),
    );
  }
  return value;
}

function signWpc(
  payload: Record<string, unknown>,
  key: TestKey,
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  const hash = jcsHashB64u(payload);
  return {
    envelope_version: '1',
    envelope_type: 'work_policy_contract',
    payload,
    payload_hash_b64u: hash,
    hash_algorithm: 'SHA-256',
    signature_b64u: key.signB64u(hash),
    algorithm: 'Ed25519',
    signer_did: key.did,
    issued_at: '2026-01-01T00:00:00Z',
    ...overrides,
  };
}

describe('POST /workspaces/{ws}/policies (bare WPC)', () => {
  it('stores the WPC under its JCS hash (201), stores the exact text, and answers it on GET', async () => {
    const wpc = makeBitbucketWpc({ repos: [`${world.a.slug}/web`] });
    const text = `{\n  "tool": "bitbucket_via_official_api",\n  "policy": ${JSON.stringify(wpc.policy, null, 2)}\n}`;
    const response = await world
      .http()
      .post(policiesPath())
      .set(...bearer(world.a))
      .set('Content-Type', 'application/json')
      .send(text);
    expect(response.status).toBe(201);
    expect(response.body).toEqual({ policy_hash_b64u: jcsHashB64u(wpc), form: 'bitbucket' });
    const hash = response.body.policy_hash_b64u as string;
    expect(response.headers.location).toBe(`${policiesPath()}/${hash}`);

    const detail = await world
      .http()
      .get(`${policiesPath()}/${hash}`)
      .set(...bearer(world.a));
    expect(detail.status).toBe(200);
    expect(detail.body).toMatchObject({
      policy_hash_b64u: hash,
      document: wpc,
      signed: false,
      retired_at: null,
      created_by: `api_token:${world.a.tokenId}`,
    });
    expect(Date.parse(detail.body.created_at)).not.toBeNaN();
    const raw = await world
      .http()
      .get(`${policiesPath()}/${hash}?format=raw`)
      .set(...bearer(world.a))
      .buffer(true)
      .parse((res, done) => {
        let data = '';
        res.on('data', (chunk: Buffer) => (data += chunk.toString('utf8')));
        res.on('end', () => done(null, data));
      });
    expect(raw.body).toBe(text);

    const list = await world
      .http()
      .get(policiesPath())
      .set(...bearer(world.a));
    expect(list.body.policies.map((policy: { policy_hash_b64u: string }) => policy.policy_hash_b64u)).toContain(hash);
  });

  it('gives the same hash for the same WPC with keys reordered, and a re-upload is an idempotent 200', async () => {
    const wpc = makeBitbucketWpc({ repos: [`${world.a.slug}/stable`], allowedModels: ['claude-*'] });
    const first = await world
      .http()
      .post(policiesPath())
      .set(...bearer(world.a))
      .send(wpc);
    expect(first.status).toBe(201);
    const auditBefore = (await world.store.audit.query(world.a.id)).length;
    const again = await world
      .http()
      .post(policiesPath())
      .set(...bearer(world.a))
      .send(reordered(wpc) as object);
    expect(again.status).toBe(200);
    expect(again.body.policy_hash_b64u).toBe(first.body.policy_hash_b64u);
    expect((await world.store.audit.query(world.a.id)).length).toBe(auditBefore);
  });

  it.each<[string, (wpc: Record<string, unknown>) => unknown, string[]]>([
    ['a wrong tool', (w) => ({ ...w, tool: 'github' }), ['tool']],
    ['a typo in a policy key', (w) => ({ ...w, policy: { ...(w.policy as object), path: {} } }), ['policy.path']],
    [
      'a bad deny glob',
      (w) => ({ ...w, policy: { ...(w.policy as Record<string, unknown>), paths: { deny_globs: ['ok/**', ''] } } }),
      ['policy.paths.deny_globs[1]'],
    ],
    ['a JSON array', () => [1, 2], ['']],
  ])('refuses %s with 422 INVALID_POLICY and field paths, storing nothing', async (_name, mutate, paths) => {
    const before = await storedState(world.store, world.a.id);
    const response = await world
      .http()
      .post(policiesPath())
      .set(...bearer(world.a))
      .send(mutate(makeBitbucketWpc({ repos: ['ws/x'] })) as object);
    expect(response.status).toBe(422);
    expect(response.body.error.code).toBe('INVALID_POLICY');
    expect(response.body.error.fields.map((field: { path: string }) => field.path).sort()).toEqual([...paths].sort());
    expect(await storedState(world.store, world.a.id)).toEqual(before);
  });

  it("answers 404 for an unknown hash and for another workspace's policy", async () => {
    const wpc = makeBitbucketWpc({ repos: ['ws/only-b'] });
    const created = await world
      .http()
      .post(`/api/v1/workspaces/${world.b.slug}/policies`)
      .set(...bearer(world.b))
      .send(wpc)
      .expect(201);
    const fromA = await world
      .http()
      .get(`${policiesPath()}/${created.body.policy_hash_b64u}`)
      .set(...bearer(world.a));
    expect(fromA.status).toBe(404);
    expect(fromA.body.error.code).toBe('POLICY_NOT_FOUND');
    const listA = await world
      .http()
      .get(policiesPath())
      .set(...bearer(world.a));
    expect(listA.body.policies.map((policy: { policy_hash_b64u: string }) => policy.policy_hash_b64u)).not.toContain(
      created.body.policy_hash_b64u,
    );
    expect(
      (
        await world
          .http()
          .get(`${policiesPath()}/not-a-hash`)
          .set(...bearer(world.a))
      ).status,
    ).toBe(404);
  });
});

describe('POST /workspaces/{ws}/policies/{hash}/retire', () => {
  it('refuses to retire an assigned policy (409, nothing changes), retires it once unassigned, and hides it from the default list', async () => {
    const wpc = makeBitbucketWpc({ repos: [`${world.a.slug}/retire-me`] });
    const created = await world
      .http()
      .post(policiesPath())
      .set(...bearer(world.a))
      .send(wpc)
      .expect(201);
    const hash = created.body.policy_hash_b64u as string;
    const assignments = `/api/v1/workspaces/${world.a.slug}/assignments`;
    await world
      .http()
      .put(assignments)
      .set(...bearer(world.a))
      .send([{ repo: `${world.a.slug}/retire-me`, policy_hash_b64u: hash }])
      .expect(200);
    const refused = await world
      .http()
      .post(`${policiesPath()}/${hash}/retire`)
      .set(...bearer(world.a));
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('POLICY_ASSIGNED');
    expect((await world.store.policies.get(world.a.id, hash))?.retiredAt).toBeNull();
    await world
      .http()
      .put(assignments)
      .set(...bearer(world.a))
      .send([])
      .expect(200);
    const retired = await world
      .http()
      .post(`${policiesPath()}/${hash}/retire`)
      .set(...bearer(world.a));
    expect(retired.status).toBe(200);
    expect(retired.body.retired_at).toEqual(expect.any(String));
    const list = await world
      .http()
      .get(policiesPath())
      .set(...bearer(world.a));
    expect(list.body.policies.map((p: { policy_hash_b64u: string }) => p.policy_hash_b64u)).not.toContain(hash);
    const all = await world
      .http()
      .get(`${policiesPath()}?include_retired=true`)
      .set(...bearer(world.a));
    expect(all.body.policies.map((p: { policy_hash_b64u: string }) => p.policy_hash_b64u)).toContain(hash);
    expect(
      (
        await world
          .http()
          .post(`${policiesPath()}/${'x'.repeat(43)}/retire`)
          .set(...bearer(world.a))
      ).status,
    ).toBe(404);
  });
});

describe('POST /workspaces/{ws}/policies (signed WPC envelope)', () => {
  const issuer = createTestKey();
  const stranger = createTestKey();

  beforeAll(async () => {
    await world
      .http()
      .put(`/api/v1/workspaces/${world.a.slug}/settings`)
      .set(...bearer(world.a))
      .send({
        mode: 'observe',
        trusted_gateways: [],
        cst_issuers: [],
        wpc_issuers: [issuer.did],
        agents: [],
        frozen: false,
      })
      .expect(200);
  });

  it('accepts an envelope signed by a configured wpc_issuer and keeps the envelope', async () => {
    const payload = makeBitbucketWpc({ repos: ['ws/signed'] });
    const envelope = signWpc(payload, issuer);
    const response = await world
      .http()
      .post(policiesPath())
      .set(...bearer(world.a))
      .send(envelope);
    expect(response.status).toBe(201);
    expect(response.body.policy_hash_b64u).toBe(jcsHashB64u(payload));
    const detail = await world
      .http()
      .get(`${policiesPath()}/${response.body.policy_hash_b64u}`)
      .set(...bearer(world.a));
    expect(detail.body).toMatchObject({ signed: true, document: payload, envelope });
  });

  it.each<[string, string, string, () => Record<string, unknown>]>([
    [
      'a signer that is not a wpc_issuer',
      'WPC_SIGNER_NOT_ALLOWED',
      'signer_did',
      () => signWpc(makeBitbucketWpc({ repos: ['ws/s1'] }), stranger),
    ],
    [
      'a signature by another key',
      'WPC_SIGNATURE_INVALID',
      'signature_b64u',
      () => {
        const payload = makeBitbucketWpc({ repos: ['ws/s2'] });
        return signWpc(payload, issuer, { signature_b64u: stranger.signB64u(jcsHashB64u(payload)) });
      },
    ],
    [
      'a payload changed after signing',
      'WPC_HASH_INVALID',
      'payload_hash_b64u',
      () => ({
        ...signWpc(makeBitbucketWpc({ repos: ['ws/s3'] }), issuer),
        payload: makeBitbucketWpc({ repos: ['ws/s3', 'ws/extra'] }),
      }),
    ],
    [
      'an issuer_did that is not the signer',
      'WPC_ISSUER_MISMATCH',
      'payload.issuer_did',
      () => signWpc({ ...makeBitbucketWpc({ repos: ['ws/s4'] }), issuer_did: stranger.did }, issuer),
    ],
    [
      'an invalid WPC payload',
      'INVALID_POLICY',
      'payload.tool',
      () => signWpc({ ...makeBitbucketWpc({ repos: ['ws/s5'] }), tool: 'x' }, issuer),
    ],
    [
      'an envelope with expires_at',
      'VALIDATION_FAILED',
      'expires_at',
      () => ({ ...signWpc(makeBitbucketWpc({ repos: ['ws/s6'] }), issuer), expires_at: '2030-01-01T00:00:00Z' }),
    ],
    [
      'a proof-bundle envelope type',
      'VALIDATION_FAILED',
      'envelope_type',
      () => signWpc(makeBitbucketWpc({ repos: ['ws/s7'] }), issuer, { envelope_type: 'proof_bundle' }),
    ],
  ])('refuses %s with 422 %s at %s, storing nothing', async (_name, code, path, build) => {
    const before = await storedState(world.store, world.a.id);
    const response = await world
      .http()
      .post(policiesPath())
      .set(...bearer(world.a))
      .send(build());
    expect(response.status).toBe(422);
    expect(response.body.error.code).toBe(code);
    expect(response.body.error.fields.map((field: { path: string }) => field.path)).toContain(path);
    expect(await storedState(world.store, world.a.id)).toEqual(before);
  });
});

describe('POST /workspaces/{ws}/policies (official Clawsig WPC v1 and v2)', () => {
  const issuer = createTestKey();
  const v1 = {
    policy_version: '1',
    policy_id: 'official-v1',
    issuer_did: issuer.did,
    allowed_providers: ['anthropic'],
    allowed_models: ['claude-*'],
    egress_allowlist: ['api.anthropic.com'],
  };
  const v2 = {
    policy_version: '2',
    policy_id: 'official-v2',
    issuer_did: issuer.did,
    statements: [{ sid: 'pr', effect: 'Allow', actions: ['bitbucket:create_pr'], resources: ['*'] }],
  };

  beforeAll(async () => {
    await world
      .http()
      .put(`/api/v1/workspaces/${world.a.slug}/settings`)
      .set(...bearer(world.a))
      .send({
        mode: 'observe',
        trusted_gateways: [],
        cst_issuers: [],
        wpc_issuers: [issuer.did],
        agents: [],
        frozen: false,
      })
      .expect(200);
  });

  it('accepts a bare official v1 (it used to be refused "expected tool") under its JCS hash, and names the form', async () => {
    const response = await world
      .http()
      .post(policiesPath())
      .set(...bearer(world.a))
      .send(v1);
    expect(response.status).toBe(201);
    expect(response.body).toEqual({ policy_hash_b64u: jcsHashB64u(v1), form: 'clawsig_v1' });
  });

  it('accepts a signed official v1 envelope and a bare v2; refuses a v2 with inherits and a v1 signed by a stranger', async () => {
    const signed = signWpc({ ...v1, policy_id: 'official-v1-signed' }, issuer);
    expect(
      (
        await world
          .http()
          .post(policiesPath())
          .set(...bearer(world.a))
          .send(signed)
      ).status,
    ).toBe(201);
    const bare2 = await world
      .http()
      .post(policiesPath())
      .set(...bearer(world.a))
      .send(v2);
    expect(bare2.body).toEqual({ policy_hash_b64u: jcsHashB64u(v2), form: 'clawsig_v2' });
    const inherits = await world
      .http()
      .post(policiesPath())
      .set(...bearer(world.a))
      .send({ ...v2, policy_id: 'child', inherits: 'parent' });
    expect([inherits.status, inherits.body.error.code]).toEqual([422, 'INVALID_POLICY']);
    const stranger = createTestKey();
    const foreign = await world
      .http()
      .post(policiesPath())
      .set(...bearer(world.a))
      .send(signWpc({ ...v1, issuer_did: stranger.did, policy_id: 'x' }, stranger));
    expect([foreign.status, foreign.body.error.code]).toEqual([422, 'WPC_SIGNER_NOT_ALLOWED']);
  });
});
