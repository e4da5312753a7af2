import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { encodeSymmetric } from 'atlassian-jwt';
import pino from 'pino';
import sqlite3 from 'sqlite3';
import { loadAppConfig } from '../../src/config/app-config';
import { startClawgate } from '../../src/server/create-server';
import { makeBitbucketWpc, makeProofBundle } from '../../src/testkit';
import { openStore } from '../../src/store';
import { bearer, createApiWorld, grant, storedState, TEST_SECRET_KEY, type ApiWorld } from './support/api-world';

/**
 * The attacks of the least-privilege issue, as an attacker tried them against the API: each of these
 * succeeded before tokens had scopes, reads were gated, re-checks had one rule and rate limits existed.
 */

const SETTINGS_BODY = {
  mode: 'observe',
  trusted_gateways: [{ did: 'did:key:z6MkAttackerGateway' }],
  cst_issuers: [],
  wpc_issuers: [],
  agents: [],
  frozen: false,
  revocations: { agent_dids: [], bundle_ids: [], account_uuids: [], gateway_dids: [], cst_jtis: [] },
};

describe('the pipeline token (bundles:write) cannot take over the workspace', () => {
  let world: ApiWorld;
  let pipelineToken: string;

  beforeAll(async () => {
    world = await createApiWorld();
    // What the settings page tells admins to create for "your pipeline's secrets": scopes omitted.
    const created = await world
      .http()
      .post(`/api/v1/workspaces/${world.a.slug}/tokens`)
      .set(...bearer(world.a))
      .send({ label: 'pipeline' });
    expect(created.status).toBe(201);
    expect(created.body.scopes).toEqual(['bundles:write']);
    pipelineToken = String(created.body.token);
  });
  afterAll(() => world.close());

  const ws = (): string => `/api/v1/workspaces/${world.a.slug}`;

  it.each([
    ['switch the mode to observe and trust its own gateway', 'put', '/settings', SETTINGS_BODY],
    ['replace the WPC', 'post', '/policies', makeBitbucketWpc({ repos: ['*/*'] })],
    ['re-assign policies', 'put', '/assignments', []],
    ['mint itself an admin token', 'post', '/tokens', { scopes: ['admin'] }],
    ['revoke the admin’s token', 'post', '/tokens/__ADMIN__/revoke', undefined],
    ['read the settings', 'get', '/settings', undefined],
    ['export the audit log', 'get', '/audit', undefined],
  ] as const)('cannot %s: 403 INSUFFICIENT_SCOPE and nothing changes', async (_what, method, path, body) => {
    const before = await storedState(world.store, world.a.id);
    let call = world
      .http()
      [method](`${ws()}${path.replace('__ADMIN__', world.a.tokenId)}`)
      .set('Authorization', `Bearer ${pipelineToken}`);
    if (body !== undefined) call = call.send(body as object);
    const response = await call;
    expect(response.status).toBe(403);
    expect(response.body.error.code).toBe('INSUFFICIENT_SCOPE');
    expect(await storedState(world.store, world.a.id)).toEqual(before);
  });

  it('still does its job: uploads a bundle', async () => {
    await world
      .http()
      .post(`${ws()}/bundles`)
      .set('Authorization', `Bearer ${pipelineToken}`)
      .send({ bundle: makeProofBundle().envelope })
      .expect(201);
  });
});

describe('the agent cannot re-check its own PR through the page API', () => {
  let world: ApiWorld;
  const AGENT = '557058:claw-bot';
  const AGENT_UUID = '{aaaaaaaa-0000-4000-8000-00000000a6e7}';
  const HUMAN = '557058:reviewer';

  beforeAll(async () => {
    world = await createApiWorld();
    const settings = {
      ...SETTINGS_BODY,
      mode: 'enforce',
      trusted_gateways: [],
      agents: [{ account_uuid: AGENT_UUID, role: 'write' }],
    };
    await world
      .http()
      .put(`/api/v1/workspaces/${world.a.slug}/settings`)
      .set(...bearer(world.a))
      .send(settings)
      .expect(200);
    grant(world.viewers, AGENT, 'web', 'write');
    world.viewers.uuids.set(AGENT, AGENT_UUID);
    grant(world.viewers, HUMAN, 'web', 'write');
    world.viewers.uuids.set(HUMAN, '{bbbbbbbb-0000-4000-8000-000000000001}');
  });
  afterAll(() => world.close());

  const recheck = (sub: string) =>
    world
      .http()
      .post(`/api/v1/workspaces/${world.a.slug}/repositories/web/pullrequests/5/recheck`)
      .set('Authorization', `JWT ${world.a.jwt({ sub })}`);

  it('an agent identity with write access is refused (403 RECHECK_REFUSED), nothing queued', async () => {
    const response = await recheck(AGENT);
    expect(response.status).toBe(403);
    expect(response.body.error.code).toBe('RECHECK_REFUSED');
    expect(world.rechecks).toEqual([]);
  });

  it('an account Bitbucket names no uuid for is refused (it could be an agent)', async () => {
    const unnamed = '557058:no-uuid';
    grant(world.viewers, unnamed, 'web', 'write');
    expect((await recheck(unnamed)).status).toBe(403);
    expect(world.rechecks).toEqual([]);
  });

  it('a human with write access may', async () => {
    expect((await recheck(HUMAN)).status).toBe(202);
    expect(world.rechecks).toHaveLength(1);
  });

  it('a read-scope token may not; an admin-scope token may', async () => {
    const read = await world
      .http()
      .post(`/api/v1/workspaces/${world.a.slug}/tokens`)
      .set(...bearer(world.a))
      .send({ scopes: ['read'] });
    const response = await world
      .http()
      .post(`/api/v1/workspaces/${world.a.slug}/repositories/web/pullrequests/5/recheck`)
      .set('Authorization', `Bearer ${String(read.body.token)}`);
    expect(response.status).toBe(403);
    await world
      .http()
      .post(`/api/v1/workspaces/${world.a.slug}/repositories/web/pullrequests/5/recheck`)
      .set(...bearer(world.a))
      .expect(202);
  });
});

describe('rate limits', () => {
  it('refuses an address (and a credential) that keeps failing authentication with 429, before checking its credential', async () => {
    const world = await createApiWorld({
      rateLimits: {
        authFailuresPerAddress: { points: 5, windowSeconds: 60 },
        authFailuresPerCredential: { points: 3, windowSeconds: 60 },
      },
    });
    try {
      const path = `/api/v1/workspaces/${world.a.slug}/policies`;
      const guess = `cgw_${'A'.repeat(43)}`;
      const statuses: number[] = [];
      for (let i = 0; i < 5; i += 1)
        statuses.push((await world.http().get(path).set('Authorization', `Bearer ${guess}`)).status);
      expect(statuses).toEqual([401, 401, 401, 429, 429]);
      const limited = await world.http().get(path).set('Authorization', `Bearer ${guess}`);
      expect(limited.headers['retry-after']).toMatch(/^\d+$/);
      // Other guesses from the same address, then the address itself is over its limit: even the right token waits.
      await world
        .http()
        .get(path)
        .set('Authorization', `Bearer cgw_${'B'.repeat(43)}`);
      await world
        .http()
        .get(path)
        .set('Authorization', `Bearer cgw_${'C'.repeat(43)}`);
      expect(
        (
          await world
            .http()
            .get(path)
            .set(...bearer(world.a))
        ).status,
      ).toBe(429);
    } finally {
      await world.close();
    }
  });

  it('forged JWTs naming a user do not lock that user out (no per-credential limit on unverified claims)', async () => {
    const world = await createApiWorld({
      rateLimits: {
        authFailuresPerAddress: { points: 100, windowSeconds: 60 },
        authFailuresPerCredential: { points: 2, windowSeconds: 60 },
      },
    });
    try {
      const path = `/api/v1/workspaces/${world.a.slug}/policies`;
      const now = Math.floor(Date.now() / 1000);
      const forged = encodeSymmetric(
        { iss: world.a.clientKey, sub: '557058:page-user', iat: now, exp: now + 60, qsh: 'context-qsh' },
        'not-the-shared-secret',
      );
      for (let i = 0; i < 5; i += 1)
        expect((await world.http().get(path).set('Authorization', `JWT ${forged}`)).status).toBe(401);
      expect((await world.http().get(path).set('Authorization', `JWT ${world.a.jwt()}`)).status).toBe(200);
    } finally {
      await world.close();
    }
  });

  it('limits bundle uploads per token', async () => {
    const world = await createApiWorld({ rateLimits: { uploadsPerCaller: { points: 3, windowSeconds: 60 } } });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 4; i += 1)
        statuses.push(
          (
            await world
              .http()
              .post(`/api/v1/workspaces/${world.a.slug}/bundles`)
              .set(...bearer(world.a))
              .send({ bundle: makeProofBundle().envelope })
          ).status,
        );
      expect(statuses).toEqual([201, 201, 201, 429]);
      // Another workspace's token has its own budget.
      await world
        .http()
        .post(`/api/v1/workspaces/${world.b.slug}/bundles`)
        .set(...bearer(world.b))
        .send({ bundle: makeProofBundle().envelope })
        .expect(201);
    } finally {
      await world.close();
    }
  });

  it('limits re-checks per caller (each is a whole evaluation against the API budget)', async () => {
    const world = await createApiWorld({ rateLimits: { rechecksPerCaller: { points: 2, windowSeconds: 600 } } });
    try {
      const path = `/api/v1/workspaces/${world.a.slug}/repositories/web/pullrequests/1/recheck`;
      const statuses: number[] = [];
      for (let i = 0; i < 3; i += 1)
        statuses.push(
          (
            await world
              .http()
              .post(path)
              .set(...bearer(world.a))
          ).status,
        );
      expect(statuses).toEqual([202, 202, 429]);
      expect(world.rechecks).toHaveLength(2);
    } finally {
      await world.close();
    }
  });
});

describe('context JWTs at the API', () => {
  let world: ApiWorld;
  beforeAll(async () => {
    world = await createApiWorld();
  });
  afterAll(() => world.close());

  it('refuses one that lives ten years, and one for another audience', async () => {
    const now = Math.floor(Date.now() / 1000);
    const path = `/api/v1/workspaces/${world.a.slug}/audit`;
    expect(
      (
        await world
          .http()
          .get(path)
          .set('Authorization', `JWT ${world.a.jwt({ iat: now, exp: now + 10 * 365 * 24 * 3600 })}`)
      ).status,
    ).toBe(401);
    expect(
      (
        await world
          .http()
          .get(path)
          .set('Authorization', `JWT ${world.a.jwt({ aud: 'another-installation' })}`)
      ).status,
    ).toBe(401);
    expect(
      (
        await world
          .http()
          .get(path)
          .set('Authorization', `JWT ${world.a.jwt({ aud: world.a.clientKey })}`)
      ).status,
    ).toBe(200);
    // Bitbucket's own lifetime (an hour) is accepted.
    expect(
      (
        await world
          .http()
          .get(path)
          .set(
            'Authorization',
            `JWT ${encodeSymmetric({ iss: world.a.clientKey, sub: '557058:page-user', iat: now, exp: now + 3600, qsh: 'context-qsh' }, world.a.sharedSecret)}`,
          )
      ).status,
    ).toBe(200);
  });
});

describe('data at rest and data rendered', () => {
  let world: ApiWorld;
  beforeAll(async () => {
    world = await createApiWorld();
  });
  afterAll(() => world.close());

  it('never answers a non-https pr_url (it becomes an href in the pages)', async () => {
    const base = {
      prId: 9,
      headSha: 'f'.repeat(40),
      state: 'PASS',
      mode: 'enforce',
      statusState: 'SUCCESSFUL',
      verdict: {},
      commits: [],
    } as const;
    const evil = await world.store.evaluations.insert(world.a.id, {
      ...base,
      repoFullName: `${world.a.slug}/web`,
      prUrl: 'javascript:alert(document.domain)',
    });
    const plain = await world.store.evaluations.insert(world.a.id, {
      ...base,
      repoFullName: `${world.a.slug}/web`,
      prUrl: 'http://bitbucket.org/acme/web/pull-requests/9',
    });
    const good = await world.store.evaluations.insert(world.a.id, {
      ...base,
      repoFullName: `${world.a.slug}/web`,
      prUrl: 'https://bitbucket.org/acme/web/pull-requests/9',
    });
    const read = async (id: string) =>
      (
        await world
          .http()
          .get(`/api/v1/workspaces/${world.a.slug}/evaluations/${id}`)
          .set(...bearer(world.a))
      ).body.pr_url as unknown;
    expect(await read(evil.id)).toBeNull();
    expect(await read(plain.id)).toBeNull();
    expect(await read(good.id)).toBe('https://bitbucket.org/acme/web/pull-requests/9');
  });
});

describe('the CST beside an uploaded bundle is encrypted at rest', () => {
  const cst = 'eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJkaWQ6a2V5OnoiLCJqdGkiOiJsaXZlIn0.c2lnbmF0dXJl';
  let dir: string;
  let file: string;

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clawgate-cst-'));
    file = path.join(dir, 'db.sqlite');
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  function sql(statement: string, mode = sqlite3.OPEN_READONLY): Promise<Record<string, unknown>[]> {
    return new Promise((resolve, reject) => {
      const db = new sqlite3.Database(file, mode, (openError) => {
        if (openError) return reject(openError);
        db.all(statement, (error: Error | null, rows: Record<string, unknown>[]) => {
          db.close();
          if (error) reject(error);
          else resolve(rows);
        });
      });
    });
  }

  it('no byte of the database holds the token; the pipeline still reads it; a clear legacy row is sealed on open', async () => {
    const world = await createApiWorld({ databaseUrl: `sqlite:${file}` });
    const { envelope, bundleId } = makeProofBundle();
    try {
      await world
        .http()
        .post(`/api/v1/workspaces/${world.a.slug}/bundles`)
        .set(...bearer(world.a))
        .send({ bundle: envelope, scoped_token: cst })
        .expect(201);
      expect((await world.store.bundles.get(world.a.id, bundleId))?.scopedToken).toBe(cst);
      const rows = await sql('SELECT scoped_token FROM bundles');
      expect(rows.map((row) => String(row.scoped_token))).toEqual([expect.stringMatching(/^v1:/)]);
      for (const candidate of [file, `${file}-wal`])
        if (fs.existsSync(candidate))
          expect(fs.readFileSync(candidate).includes(Buffer.from(cst.slice(20)))).toBe(false);
    } finally {
      await world.close();
    }
    // A row written in clear before CSTs were sealed: opening the store seals it.
    await sql(`UPDATE bundles SET scoped_token = '${cst}'`, sqlite3.OPEN_READWRITE);
    const reopened = await openStore(`sqlite:${file}`, { secretKey: TEST_SECRET_KEY });
    try {
      expect((await sql('SELECT scoped_token FROM bundles')).map((row) => String(row.scoped_token))).toEqual([
        expect.stringMatching(/^v1:/),
      ]);
      const [workspace] = (await reopened.tenants.listAll()).map((tenant) => tenant.workspaceId);
      expect((await reopened.bundles.get(String(workspace), bundleId))?.scopedToken).toBe(cst);
    } finally {
      await reopened.close();
    }
  });
});

describe('/metrics is not open', () => {
  const logger = pino({ level: 'silent' });
  const base = { DATABASE_URL: 'sqlite::memory:', CLAWGATE_SECRET_KEY: Buffer.alloc(32, 1).toString('hex') };

  it('is 404 on the public listener unless configured', async () => {
    const app = await startClawgate({ config: loadAppConfig(base), port: 0, logger, workers: false });
    try {
      expect((await fetch(`${app.url}/metrics`)).status).toBe(404);
    } finally {
      await app.close();
    }
  });

  it('needs the metrics token when CLAWGATE_METRICS_TOKEN is set', async () => {
    const token = 'metrics-token-0123456789abcdef';
    const app = await startClawgate({
      config: loadAppConfig({ ...base, CLAWGATE_METRICS_TOKEN: token }),
      port: 0,
      logger,
      workers: false,
    });
    try {
      expect((await fetch(`${app.url}/metrics`)).status).toBe(401);
      expect(
        (await fetch(`${app.url}/metrics`, { headers: { authorization: 'Bearer wrong-token-0123456789abcdef' } }))
          .status,
      ).toBe(401);
      const ok = await fetch(`${app.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
      expect(ok.status).toBe(200);
      expect(await ok.text()).toContain('clawgate_webhooks_total');
    } finally {
      await app.close();
    }
  });

  it('is served only on the separate listener when CLAWGATE_METRICS_PORT is set', async () => {
    const app = await startClawgate({
      config: loadAppConfig({
        ...base,
        CLAWGATE_METRICS_PORT: '0',
        CLAWGATE_METRICS_TOKEN: 'ignored-when-separate-0123456789',
      }),
      port: 0,
      logger,
      workers: false,
    });
    try {
      expect(app.metricsUrl).toBeDefined();
      expect(
        (await fetch(`${app.url}/metrics`, { headers: { authorization: 'Bearer ignored-when-separate-0123456789' } }))
          .status,
      ).toBe(404);
      expect((await fetch(`${String(app.metricsUrl)}/metrics`)).status).toBe(200);
      expect((await fetch(`${String(app.metricsUrl)}/api/v1/workspaces`)).status).toBe(404);
    } finally {
      await app.close();
    }
  });
});
