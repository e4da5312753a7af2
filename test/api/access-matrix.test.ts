import { randomUUID } from 'node:crypto';
import { createSessionToken } from '../../src/http/session-token';
import { makeBitbucketWpc, makeProofBundle } from '../../src/testkit';
import { createApiWorld, grant, PAGE_USER, storedState, type ApiWorld } from './support/api-world';

/**
 * Every API route × every kind of credential: which ones the route's declared rule lets through and
 * which get 403 — and a 403 changes nothing (settings, policies, assignments, tokens, audit log).
 * Credentials: tokens with each scope; page users (Connect context JWTs) who are a workspace admin,
 * a repository writer, a repository reader, nobody; and a session descended from a page link.
 * "Allowed" means anything but 401/403 (a 404 for a made-up id still went past authorization).
 */

type Credential =
  | 'token:bundles:write'
  | 'token:read'
  | 'token:admin'
  | 'page:admin'
  | 'page:writer'
  | 'page:reader'
  | 'page:nobody'
  | 'page:link';
const CREDENTIALS: readonly Credential[] = [
  'token:bundles:write',
  'token:read',
  'token:admin',
  'page:admin',
  'page:writer',
  'page:reader',
  'page:nobody',
  'page:link',
];

const WRITER = '557058:writer';
const READER = '557058:reader';
const NOBODY = '557058:nobody';

interface Route {
  readonly name: string;
  readonly method: 'get' | 'post' | 'put';
  readonly path: () => string;
  readonly body?: () => unknown;
  readonly allowed: readonly Credential[];
  /** Refused with 404 rather than 403: the resource is hidden from them as if absent. */
  readonly hiddenFrom?: readonly Credential[];
}

let world: ApiWorld;
let headers: Record<Credential, string>;
let evaluationId: string;
let otherEvaluationId: string;
let bundleId: string;
let policyHash: string;

const ws = (): string => `/api/v1/workspaces/${world.a.slug}`;

beforeAll(async () => {
  world = await createApiWorld({
    rateLimits: {
      uploadsPerCaller: { points: 1000, windowSeconds: 60 },
      rechecksPerCaller: { points: 1000, windowSeconds: 60 },
      rechecksPerAddress: { points: 1000, windowSeconds: 60 },
    },
  });
  const tokens: Partial<Record<Credential, string>> = {};
  for (const scope of ['bundles:write', 'read', 'admin'] as const) {
    const created = await world
      .http()
      .post(`${ws()}/tokens`)
      .set('Authorization', `Bearer ${world.a.token}`)
      .send({ label: scope, scopes: [scope] });
    expect(created.status).toBe(201);
    expect(created.body.scopes).toEqual([scope]);
    tokens[`token:${scope}`] = `Bearer ${String(created.body.token)}`;
  }
  grant(world.viewers, WRITER, 'web', 'write');
  world.viewers.uuids.set(WRITER, '{11111111-2222-4333-8444-555555555555}');
  grant(world.viewers, READER, 'web', 'read');

  // A bundle uploaded by the bundles:write token, and the evaluation of a PR in `web` that used it.
  const made = makeProofBundle();
  bundleId = made.bundleId;
  await world
    .http()
    .post(`${ws()}/bundles`)
    .set('Authorization', tokens['token:bundles:write'] ?? '')
    .send({ bundle: made.envelope })
    .expect(201);
  const policy = await world
    .http()
    .post(`${ws()}/policies`)
    .set('Authorization', `Bearer ${world.a.token}`)
    .send(makeBitbucketWpc({ repos: [`${world.a.slug}/web`] }));
  policyHash = String(policy.body.policy_hash_b64u);
  const base = {
    prId: 7,
    headSha: 'c'.repeat(40),
    state: 'PASS',
    mode: 'enforce',
    statusState: 'SUCCESSFUL',
    verdict: {},
    commits: [],
    policyHashB64u: policyHash,
  } as const;
  evaluationId = (
    await world.store.evaluations.insert(world.a.id, { ...base, repoFullName: `${world.a.slug}/web`, bundleId })
  ).id;
  otherEvaluationId = (
    await world.store.evaluations.insert(world.a.id, { ...base, repoFullName: `${world.a.slug}/web`, prId: 8 })
  ).id;

  const tenant = await world.store.tenants.findByClientKey(world.a.clientKey);
  if (tenant === null) throw new Error('no tenant');
  headers = {
    'token:bundles:write': tokens['token:bundles:write'] ?? '',
    'token:read': tokens['token:read'] ?? '',
    'token:admin': tokens['token:admin'] ?? '',
    'page:admin': `JWT ${world.a.jwt({ sub: PAGE_USER })}`,
    'page:writer': `JWT ${world.a.jwt({ sub: WRITER })}`,
    'page:reader': `JWT ${world.a.jwt({ sub: READER })}`,
    'page:nobody': `JWT ${world.a.jwt({ sub: NOBODY })}`,
    // What the details page opened from a page link gets: a session naming the link's evaluation.
    'page:link': `JWT ${createSessionToken(tenant, READER, new Date(), { linkEvaluationId: evaluationId })}`,
  };
});

afterAll(async () => {
  await world.close();
});

const ADMINS: readonly Credential[] = ['token:admin', 'page:admin'];
const WORKSPACE_READERS: readonly Credential[] = ['token:read', 'token:admin', 'page:admin'];

const ROUTES: readonly Route[] = [
  { name: 'GET settings', method: 'get', path: () => `${ws()}/settings`, allowed: ADMINS },
  {
    name: 'PUT settings',
    method: 'put',
    path: () => `${ws()}/settings`,
    body: () => ({
      mode: 'observe',
      trusted_gateways: [],
      cst_issuers: [],
      wpc_issuers: [],
      agents: [],
      frozen: false,
      revocations: { agent_dids: [], bundle_ids: [], account_uuids: [], gateway_dids: [], cst_jtis: [] },
    }),
    allowed: ADMINS,
  },
  {
    name: 'POST policies',
    method: 'post',
    path: () => `${ws()}/policies`,
    body: () => makeBitbucketWpc({ repos: [`${world.a.slug}/${randomUUID()}`] }),
    allowed: ADMINS,
  },
  { name: 'GET policies', method: 'get', path: () => `${ws()}/policies`, allowed: WORKSPACE_READERS },
  {
    name: 'GET policies/{hash} (the evaluations’)',
    method: 'get',
    path: () => `${ws()}/policies/${policyHash}`,
    allowed: ['token:read', 'token:admin', 'page:admin', 'page:writer', 'page:reader', 'page:link'],
  },
  {
    name: 'GET policies/{hash} (unknown)',
    method: 'get',
    path: () => `${ws()}/policies/${'A'.repeat(43)}`,
    allowed: WORKSPACE_READERS,
  },
  {
    name: 'POST policies/{hash}/retire',
    method: 'post',
    path: () => `${ws()}/policies/${'A'.repeat(43)}/retire`,
    allowed: ADMINS,
  },
  { name: 'GET assignments', method: 'get', path: () => `${ws()}/assignments`, allowed: WORKSPACE_READERS },
  { name: 'PUT assignments', method: 'put', path: () => `${ws()}/assignments`, body: () => [], allowed: ADMINS },
  {
    name: 'POST bundles',
    method: 'post',
    path: () => `${ws()}/bundles`,
    body: () => ({ bundle: makeProofBundle().envelope }),
    allowed: ['token:bundles:write', 'token:admin', 'page:admin'],
  },
  {
    name: 'GET bundles/{id}',
    method: 'get',
    path: () => `${ws()}/bundles/${bundleId}`,
    allowed: ['token:read', 'token:admin', 'page:admin', 'page:writer', 'page:reader', 'page:link'],
  },
  {
    name: 'GET evaluations?repo=',
    method: 'get',
    path: () => `${ws()}/evaluations?repo=${world.a.slug}/web`,
    allowed: ['token:bundles:write', 'token:read', 'token:admin', 'page:admin', 'page:writer', 'page:reader'],
  },
  {
    name: 'GET evaluations/{id} (the link’s)',
    method: 'get',
    path: () => `${ws()}/evaluations/${evaluationId}`,
    allowed: [
      'token:bundles:write',
      'token:read',
      'token:admin',
      'page:admin',
      'page:writer',
      'page:reader',
      'page:link',
    ],
  },
  {
    name: 'GET evaluations/{id} (another)',
    method: 'get',
    path: () => `${ws()}/evaluations/${otherEvaluationId}`,
    allowed: ['token:read', 'token:admin', 'page:admin', 'page:writer', 'page:reader'],
    hiddenFrom: ['token:bundles:write'],
  },
  {
    name: 'GET evaluations/{id}/trust-pulse',
    method: 'get',
    path: () => `${ws()}/evaluations/${evaluationId}/trust-pulse`,
    allowed: ['token:read', 'token:admin', 'page:admin', 'page:writer', 'page:reader', 'page:link'],
  },
  {
    name: 'GET evaluations/{id}/evidence (another)',
    method: 'get',
    path: () => `${ws()}/evaluations/${otherEvaluationId}/evidence`,
    allowed: ['token:read', 'token:admin', 'page:admin', 'page:writer', 'page:reader'],
  },
  { name: 'GET agent-runs', method: 'get', path: () => `${ws()}/agent-runs`, allowed: WORKSPACE_READERS },
  {
    name: 'POST preflight',
    method: 'post',
    path: () => `${ws()}/preflight`,
    body: () => ({}),
    allowed: ['token:bundles:write', 'token:admin', 'page:admin'],
  },
  { name: 'POST tokens', method: 'post', path: () => `${ws()}/tokens`, body: () => ({ label: 'x' }), allowed: ADMINS },
  { name: 'GET tokens', method: 'get', path: () => `${ws()}/tokens`, allowed: ADMINS },
  {
    name: 'POST tokens/{id}/revoke',
    method: 'post',
    path: () => `${ws()}/tokens/${randomUUID()}/revoke`,
    allowed: ADMINS,
  },
  {
    name: 'POST tokens/{id}/rotate',
    method: 'post',
    path: () => `${ws()}/tokens/${randomUUID()}/rotate`,
    allowed: ADMINS,
  },
  {
    name: 'POST recheck',
    method: 'post',
    path: () => `${ws()}/repositories/web/pullrequests/7/recheck`,
    allowed: ['token:admin', 'page:admin', 'page:writer'],
  },
  { name: 'GET audit', method: 'get', path: () => `${ws()}/audit`, allowed: WORKSPACE_READERS },
  { name: 'GET merge-checks', method: 'get', path: () => `${ws()}/repositories/web/merge-checks`, allowed: ADMINS },
  {
    name: 'POST merge-checks',
    method: 'post',
    path: () => `${ws()}/repositories/web/merge-checks`,
    body: () => ({}),
    allowed: ADMINS,
  },
];

const CASES = ROUTES.flatMap((route) =>
  CREDENTIALS.map(
    (credential) =>
      [
        route.name,
        credential,
        route.allowed.includes(credential)
          ? 'allowed'
          : route.hiddenFrom?.includes(credential) === true
            ? 'hidden (404)'
            : 'refused (403)',
      ] as const,
  ),
);

describe('access matrix: route × credential', () => {
  it.each(CASES)('%s with %s: %s', async (name, credential, outcome) => {
    const route = ROUTES.find((candidate) => candidate.name === name);
    if (route === undefined) throw new Error(name);
    const before = await storedState(world.store, world.a.id);
    let call = world.http()[route.method](route.path()).set('Authorization', headers[credential]);
    if (route.body !== undefined) call = call.send(route.body() as object);
    const response = await call;
    if (outcome === 'allowed') {
      expect([401, 403]).not.toContain(response.status);
    } else if (outcome === 'hidden (404)') {
      expect(response.status).toBe(404);
      expect(await storedState(world.store, world.a.id)).toEqual(before);
    } else {
      expect(response.status).toBe(403);
      expect(response.body.error.code).toMatch(/^(INSUFFICIENT_SCOPE|FORBIDDEN|LINK_SESSION_FORBIDDEN)$/);
      expect(await storedState(world.store, world.a.id)).toEqual(before);
    }
  });

  it('covers every route the API answers (a route added without a rule would throw in principalOf)', () => {
    expect(new Set(ROUTES.map((route) => route.name)).size).toBe(ROUTES.length);
    expect(CASES.length).toBe(ROUTES.length * CREDENTIALS.length);
  });

  it('a bundles:write token lists only the evaluations of bundles it uploaded', async () => {
    const listed = await world
      .http()
      .get(`${ws()}/evaluations?repo=${world.a.slug}/web`)
      .set('Authorization', headers['token:bundles:write']);
    expect(listed.status).toBe(200);
    expect(listed.body.evaluations.map((evaluation: { id: string }) => evaluation.id)).toEqual([evaluationId]);
    const all = await world
      .http()
      .get(`${ws()}/evaluations?repo=${world.a.slug}/web`)
      .set('Authorization', headers['token:read']);
    expect(all.body.evaluations.map((evaluation: { id: string }) => evaluation.id).sort()).toEqual(
      [evaluationId, otherEvaluationId].sort(),
    );
    // Another's evaluation is the same 404 as one that does not exist.
    const hidden = await world
      .http()
      .get(`${ws()}/evaluations/${otherEvaluationId}`)
      .set('Authorization', headers['token:bundles:write']);
    expect(hidden.status).toBe(404);
  });

  it('a page reader sees nothing of a repository Bitbucket does not let them read', async () => {
    const other = await world.store.evaluations.insert(world.a.id, {
      repoFullName: `${world.a.slug}/secret-repo`,
      prId: 1,
      headSha: 'd'.repeat(40),
      state: 'FAIL',
      mode: 'enforce',
      statusState: 'FAILED',
      verdict: {},
      commits: [],
    });
    expect(
      (await world.http().get(`${ws()}/evaluations/${other.id}`).set('Authorization', headers['page:reader'])).status,
    ).toBe(403);
    expect(
      (
        await world
          .http()
          .get(`${ws()}/evaluations?repo=${world.a.slug}/secret-repo`)
          .set('Authorization', headers['page:reader'])
      ).status,
    ).toBe(403);
    expect(
      (await world.http().get(`${ws()}/evaluations/${other.id}`).set('Authorization', headers['token:read'])).status,
    ).toBe(200);
  });

  it('denies a page user when Bitbucket cannot be asked (unknown is no)', async () => {
    const sub = '557058:asked-during-outage';
    grant(world.viewers, sub, 'web', 'admin');
    world.viewers.owners.add(sub);
    world.viewers.down = true;
    try {
      expect(
        (
          await world
            .http()
            .get(`${ws()}/evaluations/${evaluationId}`)
            .set('Authorization', `JWT ${world.a.jwt({ sub })}`)
        ).status,
      ).toBe(403);
      expect(
        (
          await world
            .http()
            .get(`${ws()}/audit`)
            .set('Authorization', `JWT ${world.a.jwt({ sub })}`)
        ).status,
      ).toBe(403);
    } finally {
      world.viewers.down = false;
    }
    // Not cached: once Bitbucket answers, the admin is let in.
    expect(
      (
        await world
          .http()
          .get(`${ws()}/audit`)
          .set('Authorization', `JWT ${world.a.jwt({ sub })}`)
      ).status,
    ).toBe(200);
  });

  it('asks Bitbucket once per viewer and question within the cache lifetime', async () => {
    const sub = '557058:cached-reader';
    grant(world.viewers, sub, 'web', 'read');
    for (let i = 0; i < 5; i += 1)
      await world
        .http()
        .get(`${ws()}/evaluations/${evaluationId}`)
        .set('Authorization', `JWT ${world.a.jwt({ sub })}`)
        .expect(200);
    expect(world.viewers.asked.filter((question) => question === `repo:${sub}:web`)).toHaveLength(1);
  });
});
