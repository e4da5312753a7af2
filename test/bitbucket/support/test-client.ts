import { readFileSync } from 'node:fs';
import path from 'node:path';
import pino, { type Logger } from 'pino';
import {
  connectJwtAuth,
  createBitbucketClient,
  type BitbucketClient,
  type BitbucketClientOptions,
} from '../../../src/bitbucket';
import { APP_KEY, CLIENT_KEY, SHARED_SECRET, type FakeBitbucket } from './fake-bitbucket';

export interface CapturedLog {
  logger: Logger;
  lines: string[];
  records(): Record<string, unknown>[];
}

/** A real pino logger writing JSON lines into memory. */
export function captureLogger(): CapturedLog {
  const lines: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) });
  return { logger, lines, records: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

export interface TestClient {
  client: BitbucketClient;
  /** Every backoff wait the client asked for, in order (sleep is instant in tests). */
  sleeps: number[];
  log: CapturedLog;
}

/** A Connect-JWT client for `server`, with instant sleeps and jitter fixed at its maximum. */
export function connectClient(server: FakeBitbucket, overrides: Partial<BitbucketClientOptions> = {}): TestClient {
  const sleeps: number[] = [];
  const log = captureLogger();
  const client = createBitbucketClient({
    baseApiUrl: server.url,
    auth: connectJwtAuth({ appKey: APP_KEY, clientKey: CLIENT_KEY, sharedSecret: SHARED_SECRET }),
    allowedHosts: [server.host],
    logger: log.logger,
    deliveryId: 'delivery-0001',
    ...overrides,
    retry: {
      maxAttempts: 4,
      baseDelayMs: 100,
      maxDelayMs: 2_000,
      maxTotalDelayMs: 10_000,
      sleep: async (ms: number) => void sleeps.push(ms),
      random: () => 0.999,
      ...overrides.retry,
    },
  });
  return { client, sleeps, log };
}

const FIXTURES = path.join(__dirname, '../../..', '../shared/bitbucket-fixtures/jenkins-bbs');

export function fixture(name: string): unknown {
  return JSON.parse(readFileSync(path.join(FIXTURES, name), 'utf8'));
}

export const FULL_SHA = '046d9a3c1532acf4cf08fe93235c00e4d673c1d2';
