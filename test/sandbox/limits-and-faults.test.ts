import { TokenClient } from './support/api-client';
import { startWorld, type World } from './support/world';

/** Bitbucket's limits (400 with its error shape), the rate counter and fault injection. */

type Obj = Record<string, unknown>;
let world: World;
const R = '/2.0/repositories/acme/widgets';
let head = '';

beforeAll(async () => {
  world = await startWorld();
  head = world.sandbox.commit(world.repo, {
    branch: 'limits',
    author: world.ann,
    message: 'l',
    files: { 'l.txt': 'l\n' },
  }).hash;
});
afterAll(() => world.close());

const annotations = (n: number, prefix = 'a'): Obj[] =>
  Array.from({ length: n }, (_, i) => ({
    external_id: `${prefix}-${i}`,
    annotation_type: 'BUG',
    summary: `finding ${i}`,
    path: 'l.txt',
    line: 1,
  }));

describe('limits', () => {
  it('status key ≤ 40 characters: 41 is a 400 with the field error shape', async () => {
    const ok = await world.client.request('POST', `${R}/commit/${head}/statuses/build`, {
      key: 'k'.repeat(40),
      state: 'SUCCESSFUL',
    });
    expect(ok.status).toBe(201);
    const bad = await world.client.request('POST', `${R}/commit/${head}/statuses/build`, {
      key: 'k'.repeat(41),
      state: 'SUCCESSFUL',
    });
    expect(bad.status).toBe(400);
    expect(bad.json).toEqual({
      type: 'error',
      error: {
        message: 'key: Ensure this value has at most 40 characters (it has 41).',
        fields: { key: ['Ensure this value has at most 40 characters (it has 41).'] },
      },
    });
    expect(world.sandbox.received.statuses.at(-1)).toEqual(expect.objectContaining({ status: 400, method: 'POST' }));
    const missing = await world.client.request('POST', `${R}/commit/${head}/statuses/build`, { state: 'SUCCESSFUL' });
    expect(missing.json).toEqual({
      type: 'error',
      error: { message: 'key: This field is required.', fields: { key: ['This field is required.'] } },
    });
    const badState = await world.client.request('POST', `${R}/commit/${head}/statuses/build`, {
      key: 'x',
      state: 'PASSED',
    });
    expect(badState.json).toEqual({
      type: 'error',
      error: expect.objectContaining({ message: 'state: "PASSED" is not a valid choice.' }),
    });
  });

  it('report data: at most 10 items', async () => {
    const data = (n: number): Obj[] =>
      Array.from({ length: n }, (_, i) => ({ title: `d${i}`, type: 'NUMBER', value: i }));
    expect(
      (await world.client.request('PUT', `${R}/commit/${head}/reports/r10`, { title: 't', data: data(10) })).status,
    ).toBe(200);
    const bad = await world.client.request('PUT', `${R}/commit/${head}/reports/r11`, { title: 't', data: data(11) });
    expect(bad.status).toBe(400);
    expect((bad.json as { error: { fields: Obj } }).error.fields).toHaveProperty('data');
    expect((await world.client.get(`${R}/commit/${head}/reports/r11`)).status).toBe(404);
  });

  it('annotations: 1..100 per request, 1000 per report, summary required and ≤ 450 characters', async () => {
    const url = `${R}/commit/${head}/reports/big/annotations`;
    expect(
      (
        await world.client.request('PUT', `${R}/commit/${head}/reports/big`, {
          title: 'big',
          report_type: 'SECURITY',
          result: 'FAILED',
        })
      ).status,
    ).toBe(200);
    const over = await world.client.request('POST', url, annotations(101));
    expect(over.status).toBe(400);
    expect(over.json).toEqual({
      type: 'error',
      error: { message: 'Bulk upload supports a maximum of /100 annotations' },
    });
    expect((await world.client.request('POST', url, [])).status).toBe(400);
    for (let batch = 0; batch < 10; batch++) {
      expect((await world.client.request('POST', url, annotations(100, `b${batch}`))).status).toBe(200);
    }
    expect(world.sandbox.getAnnotations(world.repo, head, 'big')).toHaveLength(1000);
    // Upserting an existing external_id does not add one; a new one would be the 1001st.
    expect((await world.client.request('POST', url, annotations(1, 'b0'))).status).toBe(200);
    const full = await world.client.request('POST', url, annotations(1, 'extra'));
    expect(full.status).toBe(400);
    expect(full.json).toEqual({
      type: 'error',
      error: expect.objectContaining({ message: expect.stringContaining('1000') }),
    });

    const summaryUrl = `${R}/commit/${head}/reports/r10/annotations`;
    expect(
      (await world.client.request('POST', summaryUrl, [{ external_id: 's1', summary: 's'.repeat(450) }])).status,
    ).toBe(200);
    const long = await world.client.request('POST', summaryUrl, [{ external_id: 's2', summary: 's'.repeat(451) }]);
    expect(long.status).toBe(400);
    expect(long.json).toEqual({
      type: 'error',
      error: expect.objectContaining({
        fields: { summary: ['Ensure this value has at most 450 characters (it has 451).'] },
      }),
    });
    const noSummary = await world.client.request('POST', summaryUrl, [{ external_id: 's3' }]);
    expect((noSummary.json as { error: { fields: Obj } }).error.fields).toEqual({
      summary: ['This field is required.'],
    });
    expect(world.sandbox.received.annotations.filter((w) => w.status === 400)).toHaveLength(5);
  });

  it('deleting a report deletes its annotations', async () => {
    expect((await world.client.request('DELETE', `${R}/commit/${head}/reports/big`)).status).toBe(204);
    expect((await world.client.get(`${R}/commit/${head}/reports/big/annotations`)).status).toBe(404);
    expect(world.sandbox.getReports(world.repo, head).map((r) => r.external_id)).toEqual(['r10']);
  });

  it('rejects oversized and malformed bodies with the error shape', async () => {
    const huge = await world.client.request('POST', `${R}/commit/${head}/statuses/build`, {
      key: 'k',
      state: 'FAILED',
      description: 'x'.repeat(1_100_000),
    });
    expect(huge.status).toBe(413);
    expect(huge.json).toEqual({ type: 'error', error: { message: 'Request body too large' } });
  });
});

describe('rate limit', () => {
  it('counts /2.0/repositories/* per principal and answers 429 text/plain without Retry-After', async () => {
    const { sandbox } = world;
    const { token, id } = sandbox.createAccessToken({ workspace: 'acme' }, ['repository', 'account']);
    const client = new TokenClient(sandbox, token);
    const previous = sandbox.rateLimit.limitPerHour;
    sandbox.rateLimit.reset();
    sandbox.rateLimit.limitPerHour = 3;
    try {
      for (let i = 0; i < 3; i++) expect((await client.get(R)).status).toBe(200);
      const limited = await client.get(R);
      expect(limited.status).toBe(429);
      expect(limited.text).toBe('Rate limit for this resource has been exceeded');
      expect(limited.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(limited.headers.get('retry-after')).toBeNull();
      // other endpoint groups and other principals have their own budget
      expect((await client.get('/2.0/user')).status).toBe(200);
      expect((await world.client.get(R)).status).toBe(200);
      expect(sandbox.rateLimit.count(`token:${id}`)).toBe(3);
    } finally {
      sandbox.rateLimit.limitPerHour = previous;
      sandbox.rateLimit.reset();
    }
  });
});

describe('fault injection', () => {
  it('injects 429 without Retry-After by default, for `count` matching requests only', async () => {
    const { sandbox, client } = world;
    const fault = sandbox.faults.inject({ path: /\/pullrequests$/, method: 'GET', status: 429, count: 2 });
    expect((await client.get(`${R}/pullrequests`)).status).toBe(429);
    expect((await client.get(R)).status).toBe(200); // path does not match
    const second = await client.get(`${R}/pullrequests`);
    expect(second.status).toBe(429);
    expect(second.headers.get('retry-after')).toBeNull();
    expect((await client.get(`${R}/pullrequests`)).status).toBe(200);
    expect(fault.hits()).toBe(2);
    expect(fault.remaining()).toBe(0);
  });

  it('can add Retry-After, serve 5xx, match by substring and method, delay, and be cancelled', async () => {
    const { sandbox, client } = world;
    sandbox.faults.inject({ status: 429, retryAfter: 7, count: 1 });
    expect((await client.get(R)).headers.get('retry-after')).toBe('7');
    sandbox.faults.inject({ path: '/statuses/build', method: 'POST', status: 503, count: 1 });
    expect((await client.get(`${R}/commit/${head}/statuses`)).status).toBe(200);
    expect(
      (await client.request('POST', `${R}/commit/${head}/statuses/build`, { key: 'f', state: 'FAILED' })).status,
    ).toBe(503);
    expect(
      (await client.request('POST', `${R}/commit/${head}/statuses/build`, { key: 'f', state: 'FAILED' })).status,
    ).toBe(201);
    sandbox.faults.inject({ status: 500, count: 1 });
    const err = await client.get(R);
    expect(err.status).toBe(500);
    expect(err.json).toEqual({ type: 'error', error: { message: 'Something went wrong' } });
    sandbox.faults.inject({ status: 502, count: 1 });
    expect((await client.get(R)).status).toBe(502);
    sandbox.faults.inject({ latencyMs: 150, count: 1 });
    const started = Date.now();
    expect((await client.get(R)).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    const cancelled = sandbox.faults.inject({ status: 500, count: 5 });
    cancelled.cancel();
    expect((await client.get(R)).status).toBe(200);
    expect(sandbox.faults.served.map((f) => f.status)).toEqual([429, 429, 429, 503, 500, 502, null]);
  });
});
