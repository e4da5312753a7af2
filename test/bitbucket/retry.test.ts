import {
  BitbucketNetworkError,
  BitbucketRateLimitError,
  BitbucketServerError,
  type BuildStatusInput,
} from '../../src/bitbucket';
import { backoffDelayMs, parseRetryAfter, runWithRetry, type RetryOptions } from '../../src/bitbucket/retry';
import { startFakeBitbucket, type FakeBitbucket } from './support/fake-bitbucket';
import { connectClient, FULL_SHA } from './support/test-client';

const OPTIONS: RetryOptions = { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 1_000, maxTotalDelayMs: 10_000 };

describe('backoffDelayMs (full jitter)', () => {
  it('is uniform in [0, min(max, base * 2^(n-1))]', () => {
    expect([1, 2, 3, 4, 5, 6].map((attempt) => backoffDelayMs(attempt, OPTIONS, () => 0.999999))).toEqual([
      99, 199, 399, 799, 999, 999,
    ]);
    expect(backoffDelayMs(3, OPTIONS, () => 0)).toBe(0);
    expect(backoffDelayMs(3, OPTIONS, () => 0.5)).toBe(200);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-03-01T10:00:00Z');
  it('reads delta-seconds and HTTP dates; past dates mean 0; absent or junk means undefined', () => {
    expect(parseRetryAfter('7', now)).toBe(7_000);
    expect(parseRetryAfter('Sun, 01 Mar 2026 10:00:03 GMT', now)).toBe(3_000);
    expect(parseRetryAfter('Sun, 01 Mar 2026 09:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter(null, now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter('-5', now)).toBeUndefined();
  });
});

describe('runWithRetry', () => {
  const environment = (sleeps: number[]) => ({
    sleep: async (ms: number) => void sleeps.push(ms),
    random: () => 0.5,
    now: () => 0,
  });

  it('stops after maxAttempts and returns the last result', async () => {
    const sleeps: number[] = [];
    let calls = 0;
    const result = await runWithRetry(
      async () => ++calls,
      () => ({ retry: true, reason: 'x' }),
      OPTIONS,
      environment(sleeps),
    );
    expect(result).toBe(5);
    expect(sleeps).toEqual([50, 100, 200, 400]);
  });

  it('stops before a wait that would pass maxTotalDelayMs', async () => {
    const sleeps: number[] = [];
    let calls = 0;
    await runWithRetry(
      async () => ++calls,
      () => ({ retry: true, reason: 'x', retryAfterMs: 400 }),
      { ...OPTIONS, maxTotalDelayMs: 1_000 },
      environment(sleeps),
    );
    expect(sleeps).toEqual([400, 400]);
    expect(calls).toBe(3);
  });

  it('does not wait when a Retry-After exceeds maxDelayMs (the caller reschedules instead)', async () => {
    const sleeps: number[] = [];
    let calls = 0;
    await runWithRetry(
      async () => ++calls,
      () => ({ retry: true, reason: 'x', retryAfterMs: 5_000 }),
      OPTIONS,
      environment(sleeps),
    );
    expect(calls).toBe(1);
    expect(sleeps).toEqual([]);
  });
});

describe('retries against a real server', () => {
  let server: FakeBitbucket;
  /** Per test: the statuses (and headers) to answer before succeeding. */
  let script: { status: number; headers?: Record<string, string> }[];
  let dropConnections: number;

  beforeAll(async () => {
    server = await startFakeBitbucket({
      routes: (app) => {
        const scripted =
          (success: (res: import('express').Response) => void) =>
          (req: import('express').Request, res: import('express').Response) => {
            if (dropConnections > 0) {
              dropConnections -= 1;
              req.socket.destroy();
              return;
            }
            const next = script.shift();
            if (next === undefined) return success(res);
            res.status(next.status).set(next.headers ?? {});
            if (next.status === 429) res.type('text/plain').send('Rate limit for this resource has been exceeded');
            else res.json({ type: 'error', error: { message: `scripted ${next.status}` } });
          };
        app.get(
          '/2.0/workspaces/:ws',
          scripted((res) => void res.json({ uuid: '{w}', slug: 'acme', name: 'Acme' })),
        );
        app.post(
          '/2.0/repositories/:ws/:slug/commit/:sha/statuses/build',
          scripted((res) => void res.status(201).json({ key: 'CLAWGATE', state: 'SUCCESSFUL' })),
        );
      },
    });
  });
  afterAll(() => server.close());
  beforeEach(() => {
    server.received.length = 0;
    script = [];
    dropConnections = 0;
  });

  it('429 without Retry-After: exponential backoff with full jitter, then success', async () => {
    script = [{ status: 429 }, { status: 429 }];
    const { client, sleeps } = connectClient(server);
    await expect(client.getWorkspace('acme')).resolves.toMatchObject({ slug: 'acme' });
    expect(server.received).toHaveLength(3);
    expect(sleeps).toEqual([99, 199]);
  });

  it('429 that never clears: bounded attempts, then BitbucketRateLimitError', async () => {
    script = Array.from({ length: 10 }, () => ({ status: 429 }));
    const { client, sleeps } = connectClient(server);
    const error = await client.getWorkspace('acme').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(BitbucketRateLimitError);
    expect(error).toMatchObject({ status: 429, transient: true, retryAfterMs: undefined });
    expect((error as Error).message).toContain('Rate limit for this resource has been exceeded');
    expect(server.received).toHaveLength(4);
    expect(sleeps).toHaveLength(3);
  });

  it('honours Retry-After in seconds and as an HTTP date', async () => {
    const now = Date.parse('2026-03-01T10:00:00Z');
    script = [
      { status: 429, headers: { 'Retry-After': '1' } },
      { status: 503, headers: { 'Retry-After': 'Sun, 01 Mar 2026 10:00:01 GMT' } },
    ];
    const { client, sleeps } = connectClient(server, { retry: { now: () => now - 500 } });
    await client.getWorkspace('acme');
    expect(sleeps).toEqual([1_000, 1_500]);
  });

  it('a Retry-After longer than maxDelayMs ends retrying at once, carrying the wait', async () => {
    script = [{ status: 429, headers: { 'Retry-After': '3600' } }];
    const { client, sleeps } = connectClient(server);
    await expect(client.getWorkspace('acme')).rejects.toMatchObject({
      name: 'BitbucketRateLimitError',
      retryAfterMs: 3_600_000,
    });
    expect(server.received).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it('5xx is retried for writes too (status POST is an upsert by key), then BitbucketServerError', async () => {
    script = [{ status: 500 }, { status: 502 }, { status: 555 }, { status: 503 }, { status: 500 }];
    const { client } = connectClient(server);
    const status: BuildStatusInput = { key: 'CLAWGATE', state: 'SUCCESSFUL' };
    const error = await client.putBuildStatus('acme', 'widgets', FULL_SHA, status).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(BitbucketServerError);
    expect(error).toMatchObject({ status: 503, transient: true });
    expect(server.received).toHaveLength(4);
    // Every attempt was freshly signed and accepted.
    expect(server.received.every((request) => request.jwt?.claims.qsh === request.jwt?.expectedQsh)).toBe(true);
  });

  it('a 5xx then success resolves', async () => {
    script = [{ status: 502 }];
    const { client } = connectClient(server);
    await expect(
      client.putBuildStatus('acme', 'widgets', FULL_SHA, { key: 'CLAWGATE', state: 'SUCCESSFUL' }),
    ).resolves.toMatchObject({ state: 'SUCCESSFUL' });
    expect(server.received).toHaveLength(2);
  });

  it('network errors are retried for GET', async () => {
    dropConnections = 2;
    const { client } = connectClient(server);
    await expect(client.getWorkspace('acme')).resolves.toMatchObject({ slug: 'acme' });
    expect(server.received).toHaveLength(3);
  });

  it('network errors are not retried for POST (it may have been applied)', async () => {
    dropConnections = 1;
    const { client, sleeps } = connectClient(server);
    await expect(
      client.putBuildStatus('acme', 'widgets', FULL_SHA, { key: 'CLAWGATE', state: 'FAILED' }),
    ).rejects.toBeInstanceOf(BitbucketNetworkError);
    expect(server.received).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it('uses real timers by default (a short real backoff)', async () => {
    script = [{ status: 429 }];
    const { client } = connectClient(server, { retry: { baseDelayMs: 20, sleep: undefined } });
    const started = Date.now();
    await client.getWorkspace('acme');
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(server.received).toHaveLength(2);
  });
});
