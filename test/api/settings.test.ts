import { createTestKey } from '../../src/testkit';
import { bearer, createApiWorld, storedState, type ApiWorld } from './support/api-world';

let world: ApiWorld;

beforeAll(async () => {
  world = await createApiWorld();
});

afterAll(async () => {
  await world.close();
});

const gateway = createTestKey();
const issuer = createTestKey();
const agentKey = createTestKey();
const cstIssuer = createTestKey();

function validSettings(): Record<string, unknown> {
  return {
    mode: 'enforce',
    trusted_gateways: [{ did: gateway.did, expires_at: '2030-01-01T00:00:00Z' }],
    cst_issuers: [{ kid: 'k1', public_key_b64u: cstIssuer.publicKeyB64u }],
    wpc_issuers: [issuer.did],
    agents: [
      { account_uuid: '{11111111-2222-4333-8444-555555555555}', role: 'write', agent_did: agentKey.did },
      { account_uuid: '{11111111-2222-4333-8444-666666666666}', role: 'read' },
    ],
    frozen: false,
  };
}

describe('GET|PUT /workspaces/{ws}/settings', () => {
  const path = () => `/api/v1/workspaces/${world.a.slug}/settings`;

  it('answers the defaults with version 0 before anything is saved', async () => {
    const fresh = await createApiWorld();
    try {
      const response = await fresh
        .http()
        .get(`/api/v1/workspaces/${fresh.a.slug}/settings`)
        .set(...bearer(fresh.a));
      expect(response.status).toBe(200);
      expect(response.headers.etag).toBe('"0"');
      expect(response.body).toMatchObject({
        mode: 'observe',
        trusted_gateways: [],
        cst_issuers: [],
        wpc_issuers: [],
        agents: [],
        frozen: false,
      });
    } finally {
      await fresh.close();
    }
  });

  it('replaces the settings, answers the new ETag, and audits actor, before and after', async () => {
    const before = await world
      .http()
      .get(path())
      .set(...bearer(world.a));
    const response = await world
      .http()
      .put(path())
      .set(...bearer(world.a))
      .send(validSettings());
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject(validSettings());
    expect(Number(JSON.parse(response.headers.etag as string))).toBe(
      Number(JSON.parse(before.headers.etag as string)) + 1,
    );
    const read = await world
      .http()
      .get(path())
      .set(...bearer(world.a));
    expect(read.body).toEqual(response.body);
    const [event] = (await world.store.audit.query(world.a.id, { kinds: ['settings.updated'] })).slice(-1);
    expect(event).toMatchObject({
      actor: `api_token:${world.a.tokenId}`,
      subject: 'settings',
      after: expect.objectContaining({ mode: 'enforce' }),
    });
    expect(event?.before === null || typeof event?.before === 'object').toBe(true);
  });

  it('stores an opt-in mission_id pattern, and refuses a malformed one with its field path', async () => {
    const withPattern = { ...validSettings(), mission_id_pattern: '{repository}#*' };
    const saved = await world
      .http()
      .put(path())
      .set(...bearer(world.a))
      .send(withPattern);
    expect(saved.status).toBe(200);
    expect(saved.body.mission_id_pattern).toBe('{repository}#*');
    const bad = await world
      .http()
      .put(path())
      .set(...bearer(world.a))
      .send({ ...validSettings(), mission_id_pattern: '{repo}' });
    expect(bad.status).toBe(422);
    expect(bad.body.error.fields.map((f: { path: string }) => f.path)).toEqual(['mission_id_pattern']);
    const cleared = await world
      .http()
      .put(path())
      .set(...bearer(world.a))
      .send(validSettings());
    expect(cleared.body.mission_id_pattern).toBeUndefined();
  });

  it('normalizes account UUIDs to lower case', async () => {
    const settings = validSettings();
    settings.agents = [{ account_uuid: '{ABCDEF01-2222-4333-8444-555555555555}', role: 'write' }];
    const response = await world
      .http()
      .put(path())
      .set(...bearer(world.a))
      .send(settings);
    expect(response.status).toBe(200);
    expect(response.body.agents[0].account_uuid).toBe('{abcdef01-2222-4333-8444-555555555555}');
  });

  it.each<[string, (settings: Record<string, unknown>) => void, string[]]>([
    ['an unknown mode', (s) => (s.mode = 'block'), ['mode']],
    ['a did:web gateway', (s) => (s.trusted_gateways = [{ did: 'did:web:example.com' }]), ['trusted_gateways[0].did']],
    [
      'a gateway with a bad expiry',
      (s) => (s.trusted_gateways = [{ did: gateway.did, expires_at: 'tomorrow' }]),
      ['trusted_gateways[0].expires_at'],
    ],
    [
      'a duplicate gateway',
      (s) => (s.trusted_gateways = [{ did: gateway.did }, { did: gateway.did }]),
      ['trusted_gateways[1].did'],
    ],
    [
      'a 42-character CST key',
      (s) => (s.cst_issuers = [{ public_key_b64u: cstIssuer.publicKeyB64u.slice(1) }]),
      ['cst_issuers[0].public_key_b64u'],
    ],
    [
      'a duplicate CST kid',
      (s) =>
        (s.cst_issuers = [
          { kid: 'k', public_key_b64u: cstIssuer.publicKeyB64u },
          { kid: 'k', public_key_b64u: gateway.publicKeyB64u },
        ]),
      ['cst_issuers[1].kid'],
    ],
    ['a WPC issuer that is not a DID', (s) => (s.wpc_issuers = ['alice']), ['wpc_issuers[0]']],
    [
      'an agent with an unknown role',
      (s) => (s.agents = [{ account_uuid: '{11111111-2222-4333-8444-555555555555}', role: 'admin' }]),
      ['agents[0].role'],
    ],
    [
      'an agent whose account is not a braced UUID',
      (s) => (s.agents = [{ account_uuid: 'alice', role: 'read' }]),
      ['agents[0].account_uuid'],
    ],
    [
      'the same agent account twice (case-insensitively)',
      (s) =>
        (s.agents = [
          { account_uuid: '{11111111-2222-4333-8444-55555555555a}', role: 'read' },
          { account_uuid: '{11111111-2222-4333-8444-55555555555A}', role: 'write' },
        ]),
      ['agents[1].account_uuid'],
    ],
    ['an unknown field', (s) => (s.frozn = true), ['frozn']],
    [
      'an unknown field inside an agent',
      (s) => (s.agents = [{ account_uuid: '{11111111-2222-4333-8444-555555555555}', role: 'read', name: 'x' }]),
      ['agents[0].name'],
    ],
    ['a missing field', (s) => delete s.frozen, ['frozen']],
    [
      'several problems at once',
      (s) => {
        s.mode = 'x';
        s.wpc_issuers = ['y'];
      },
      ['mode', 'wpc_issuers[0]'],
    ],
  ])('refuses %s with 422, the exact field paths, and stores nothing', async (_name, mutate, paths) => {
    const settings = validSettings();
    mutate(settings);
    const before = await storedState(world.store, world.a.id);
    const response = await world
      .http()
      .put(path())
      .set(...bearer(world.a))
      .send(settings);
    expect(response.status).toBe(422);
    expect(response.body.error.code).toBe('VALIDATION_FAILED');
    expect(response.body.error.fields.map((field: { path: string }) => field.path).sort()).toEqual([...paths].sort());
    expect(await storedState(world.store, world.a.id)).toEqual(before);
  });

  it('refuses a body that is not JSON with 400, and a non-JSON content type with 415', async () => {
    const bad = await world
      .http()
      .put(path())
      .set(...bearer(world.a))
      .set('Content-Type', 'application/json')
      .send('{"mode":');
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('INVALID_JSON');
    const text = await world
      .http()
      .put(path())
      .set(...bearer(world.a))
      .set('Content-Type', 'text/plain')
      .send(JSON.stringify(validSettings()));
    expect(text.status).toBe(415);
    const none = await world
      .http()
      .put(path())
      .set(...bearer(world.a));
    expect(none.status).toBe(400);
    expect(none.body.error.code).toBe('BODY_REQUIRED');
  });

  it('enforces If-Match: a stale version is 412 and changes nothing; the current one saves', async () => {
    const current = await world
      .http()
      .get(path())
      .set(...bearer(world.a));
    const etag = current.headers.etag as string;
    const saved = await world
      .http()
      .put(path())
      .set(...bearer(world.a))
      .set('If-Match', etag)
      .send({ ...validSettings(), frozen: true });
    expect(saved.status).toBe(200);
    const before = await storedState(world.store, world.a.id);
    const stale = await world
      .http()
      .put(path())
      .set(...bearer(world.a))
      .set('If-Match', etag)
      .send({ ...validSettings(), mode: 'observe' });
    expect(stale.status).toBe(412);
    expect(stale.body.error.code).toBe('VERSION_CONFLICT');
    expect(await storedState(world.store, world.a.id)).toEqual(before);
    const garbage = await world
      .http()
      .put(path())
      .set(...bearer(world.a))
      .set('If-Match', 'v1')
      .send(validSettings());
    expect(garbage.status).toBe(400);
  });

  it('keeps stored revocations when a PUT omits them, and replaces them when it sends them', async () => {
    const revocations = {
      agent_dids: [agentKey.did],
      account_uuids: [],
      cst_jtis: ['jti-1'],
      gateway_dids: [],
      bundle_ids: [],
    };
    await world
      .http()
      .put(path())
      .set(...bearer(world.a))
      .send({ ...validSettings(), revocations })
      .expect(200);
    const without = await world
      .http()
      .put(path())
      .set(...bearer(world.a))
      .send(validSettings());
    expect(without.status).toBe(200);
    expect(without.body.revocations).toEqual(revocations);
    const cleared = await world
      .http()
      .put(path())
      .set(...bearer(world.a))
      .send({
        ...validSettings(),
        revocations: { agent_dids: [], account_uuids: [], cst_jtis: [], gateway_dids: [], bundle_ids: [] },
      });
    expect(cleared.body.revocations.agent_dids).toEqual([]);
  });

  it("never shows or changes another workspace's settings", async () => {
    await world
      .http()
      .put(path())
      .set(...bearer(world.a))
      .send({ ...validSettings(), mode: 'warn' })
      .expect(200);
    const b = await world
      .http()
      .get(`/api/v1/workspaces/${world.b.slug}/settings`)
      .set(...bearer(world.b));
    expect(b.body.mode).toBe('observe');
    expect(b.body.wpc_issuers).toEqual([]);
  });
});
