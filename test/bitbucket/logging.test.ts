import { z } from 'zod';
import { bearerAuth } from '../../src/bitbucket';
import { SHARED_SECRET, startFakeBitbucket, type FakeBitbucket } from './support/fake-bitbucket';
import { connectClient } from './support/test-client';

describe('logging', () => {
  let server: FakeBitbucket;
  let throttle: number;

  beforeAll(async () => {
    server = await startFakeBitbucket({
      routes: (app) => {
        app.get(
          '/2.0/repositories/:ws/:slug/pullrequests/:id/diffstat',
          (_req, res) => void res.redirect(302, '/2.0/repositories/acme/widgets/diffstat/abc?topic=true'),
        );
        app.get('/2.0/repositories/:ws/:slug/diffstat/:spec', (_req, res) => {
          if (throttle > 0) {
            throttle -= 1;
            return void res.status(429).type('text/plain').send('Rate limit for this resource has been exceeded');
          }
          res.json({ values: [{ status: 'added', old: null, new: { path: 'a.ts' } }] });
        });
        app.post(
          '/2.0/repositories/:ws/:slug/hooks',
          (_req, res) =>
            void res.status(201).json({
              uuid: '{h}',
              url: 'https://clawgate.example/hooks/bitbucket',
              active: true,
              events: ['repo:push'],
            }),
        );
        app.get('/2.0/echo', (_req, res) => void res.json({ values: [] }));
      },
    });
  });
  afterAll(() => server.close());
  beforeEach(() => {
    server.received.length = 0;
    throttle = 1;
  });

  it('every line carries deliveryId, method, path, status, attempt and durationMs — and no secret', async () => {
    const { client, log } = connectClient(server, { deliveryId: 'req-uuid-42' });
    await client.listPullRequestDiffstat('acme', 'widgets', 5);
    await client.createHook(
      { workspace: 'acme', repoSlug: 'widgets' },
      {
        url: 'https://clawgate.example/hooks/bitbucket',
        description: 'clawgate',
        events: ['repo:push'],
        secret: 'hook-hmac-secret-value',
      },
    );
    // A caller-supplied `jwt` query parameter is signed over (qsh drops it) but never logged.
    await client.paginate('/2.0/echo', z.unknown(), { query: { jwt: 'query-token-value' } });

    const records = log.records();
    const requestLines = records.filter(
      (record) => record.msg === 'bitbucket request' || record.msg === 'bitbucket request redirected',
    );
    // PR diffstat: 302, then 429 on the target; retry: 302, 200. Then the hook POST and the echo GET.
    expect(requestLines.map((record) => [record.method, record.status, record.attempt])).toEqual([
      ['GET', 302, 1],
      ['GET', 429, 1],
      ['GET', 302, 2],
      ['GET', 200, 2],
      ['POST', 201, 1],
      ['GET', 200, 1],
    ]);
    for (const record of requestLines) {
      expect(record).toMatchObject({
        deliveryId: 'req-uuid-42',
        component: 'bitbucket',
        path: expect.stringMatching(/^\/2\.0\//),
        host: server.host,
      });
      expect(typeof record.durationMs).toBe('number');
    }
    expect(records.every((record) => record.deliveryId === 'req-uuid-42')).toBe(true);
    expect(records.some((record) => record.msg === 'bitbucket request will be retried' && record.attempt === 1)).toBe(
      true,
    );
    expect(requestLines[1]).toMatchObject({
      redirectHop: 1,
      path: '/2.0/repositories/acme/widgets/diffstat/abc?topic=true',
    });
    expect(requestLines[5]?.path).toBe('/2.0/echo?pagelen=100');

    const output = log.lines.join('');
    const tokens = server.received
      .map((request) => request.authorization?.slice(4) ?? '')
      .filter((token) => token !== '');
    expect(tokens.length).toBeGreaterThanOrEqual(6);
    for (const secret of [
      SHARED_SECRET,
      'hook-hmac-secret-value',
      'query-token-value',
      ...tokens,
      ...tokens.map((token) => token.split('.')[2] ?? ''),
    ]) {
      expect(output).not.toContain(secret);
    }
    expect(output).not.toMatch(/authorization/i);
    expect(output).not.toContain('JWT ');
  });

  it('forDelivery gives the same client another delivery id; no id is logged as null', async () => {
    const { client, log } = connectClient(server, { deliveryId: undefined });
    throttle = 0;
    await client.listPullRequestDiffstat('acme', 'widgets', 5);
    await client.forDelivery('other-delivery').listPullRequestDiffstat('acme', 'widgets', 5);
    const ids = log.records().map((record) => record.deliveryId);
    expect(ids).toEqual([null, null, 'other-delivery', 'other-delivery']);
  });

  it('bearer tokens do not appear in logs either', async () => {
    const bearerServer = await startFakeBitbucket({
      verifyJwt: false,
      routes: (app) =>
        app.get(
          '/2.0/user',
          (_req, res) => void res.status(401).json({ type: 'error', error: { message: 'Access token expired' } }),
        ),
    });
    try {
      const { client, log } = connectClient(bearerServer, {
        auth: bearerAuth('bearer-secret-token-xyz'),
        deliveryId: 'd-1',
      });
      await expect(client.getCurrentUser()).rejects.toMatchObject({ name: 'BitbucketAuthError' });
      expect(log.lines.join('')).not.toContain('bearer-secret-token-xyz');
      expect(log.records()).toEqual([
        expect.objectContaining({
          deliveryId: 'd-1',
          method: 'GET',
          path: '/2.0/user',
          status: 401,
          attempt: 1,
          level: 40,
        }),
      ]);
    } finally {
      await bearerServer.close();
    }
  });
});
