import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Express } from 'express';
import pino, { type Logger } from 'pino';
import { createApiRouter, createBitbucketForWorkspace } from '../api';
import { createAdminRouter } from '../webhooks/admin-routes';
import type { AppConfig } from '../config/app-config';
import { describeConfig } from '../config/app-config';
import { createConnectRouter } from '../connect';
import { createConnectWriteAccess } from '../http/connect-write-access';
import { createEvaluationHandler } from '../pipeline/evaluation/evaluate-pull-request';
import { createOperationsHandler } from '../pipeline/operations/operations-handler';
import { OPERATIONS_JOB } from '../pipeline/operations-events';
import { createPipelineIntake } from '../pipeline/pipeline-intake';
import { createRecheckRequester } from '../pipeline/recheck';
import { createStatusMarker } from '../pipeline/status-mark';
import type { WebhookIntake } from '../pipeline/webhook-intake';
import { EVALUATION_JOB } from '../pipeline/webhook-events';
import { createJobQueue, type JobQueue } from '../queue';
import { startRetention, type RetentionJob } from '../operations/retention';
import { retentionPolicyFromEnv } from '../operations/retention-policy';
import { loadOrCreateSecretKey, openStore, type Store } from '../store';
import { createRepoWebhookRouter } from '../webhooks';
import { createMetrics, type ClawgateMetrics } from './metrics';
import { securityHeaders } from './security-headers';

export interface ClawgateServer {
  readonly url: string;
  readonly app: Express;
  readonly store: Store;
  readonly queue: JobQueue;
  readonly metrics: ClawgateMetrics;
  readonly logger: Logger;
  close(): Promise<void>;
}

export interface StartOptions {
  config: AppConfig;
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
  /** Listen on this port instead of config.port (0 = any). */
  port?: number;
  host?: string;
  /** Verification clock (tests). */
  now?: () => number;
  fetch?: typeof fetch;
  /** Table-queue poll interval (tests use a short one). */
  pollIntervalMs?: number;
  /** Start the workers (default true). */
  workers?: boolean;
  /** Delay before the first retention purge (default 60 s; see src/operations/retention.ts). */
  retentionFirstRunDelayMs?: number;
}

/**
 * The service: store (migrated), durable queue, the surfaces (Connect, API), the pipeline workers,
 * health and metrics. `close()` shuts down gracefully: stop accepting, drain the workers, close the DB.
 */
export async function startClawgate(options: StartOptions): Promise<ClawgateServer> {
  const { config } = options;
  const env = options.env ?? process.env;
  // Parsed before anything opens, so a bad retention value fails the start (fail closed).
  const retentionPolicy = retentionPolicyFromEnv(env);
  const logger = options.logger ?? pino({ level: config.logLevel, redact: { paths: ['req.headers.authorization', '*.sharedSecret', '*.token', '*.secret'], censor: '[redacted]' } });
  const keys = loadOrCreateSecretKey(config.database.dataDirectory, { CLAWGATE_SECRET_KEY: config.secretKey, CLAWGATE_SECRET_KEY_PREVIOUS: config.previousSecretKeys.join(','), NODE_ENV: config.production ? 'production' : env.NODE_ENV });
  for (const warning of keys.warnings) logger.warn(warning);
  const store = await openStore(config.databaseUrl, { secretKey: keys.current, previousSecretKeys: keys.previous });
  const metrics = createMetrics();
  const queue = createJobQueue(store, {
    env: { CLAWGATE_QUEUE: env.CLAWGATE_QUEUE, CLAWGATE_WORKER_ID: env.CLAWGATE_WORKER_ID },
    table: { ...(options.pollIntervalMs ? { pollIntervalMs: options.pollIntervalMs } : {}), onError: (error, context) => logger.error({ phase: context.phase, jobId: context.jobId, err: error instanceof Error ? error.message : String(error) }, 'queue error') },
    pgBoss: options.pollIntervalMs ? { pollIntervalMs: Math.max(500, options.pollIntervalMs) } : {},
  });
  // Every clawgate status carries a mark only clawgate can make (forged-status defence, design §7).
  const statusMarker = createStatusMarker(keys.current, keys.previous);
  const pipelineIntake = createPipelineIntake({ store, queue, logger, statusMarker });
  const intake: WebhookIntake = {
    async receive(delivery) {
      const result = await pipelineIntake.receive(delivery);
      metrics.webhooks.inc({ surface: delivery.surface, event: delivery.eventKey, outcome: result.duplicate ? 'duplicate' : 'accepted' });
      return result;
    },
  };
  const requestRecheck = createRecheckRequester({ store, queue });
  const evaluationDeps = { store, config, logger, statusMarker, ...(options.now ? { now: options.now } : {}), ...(options.fetch ? { fetch: options.fetch } : {}) };
  const operationsDeps = { store, config, logger, statusMarker, requestRecheck, ...(options.fetch ? { fetch: options.fetch } : {}) };

  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.use(securityHeaders);
  app.get('/healthz', (_req, res) => void res.json({ status: 'ok' }));
  app.get('/readyz', async (_req, res) => {
    const ok = await store.ping();
    res.status(ok ? 200 : 503).json({ status: ok ? 'ready' : 'database unavailable' });
  });
  app.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  app.use(createConnectRouter({ config, store, intake, logger, ...(options.fetch ? { fetch: options.fetch } : {}) }));
  app.use(createRepoWebhookRouter({ store, intake, logger }));
  // Before the API router, which answers every path it does not know with 404.
  app.use('/api/v1', createAdminRouter({ config, store, logger, ...(options.fetch ? { fetch: options.fetch } : {}) }));
  app.use(
    '/api/v1',
    createApiRouter({
      config,
      store,
      logger,
      recheck: requestRecheck,
      // Only workspace admins change clawgate through the app's pages (a page JWT alone is any reader).
      connectWriteAccess: createConnectWriteAccess({ config, logger, ...(options.fetch ? { fetch: options.fetch } : {}) }),
      // The settings page's merge-check checklist reads (and creates) branch restrictions.
      bitbucketForWorkspace: createBitbucketForWorkspace({ store, config, logger, ...(options.fetch ? { fetch: options.fetch } : {}) }),
    }),
  );
  app.use((_req, res) => void res.status(404).json({ error: { code: 'NOT_FOUND', message: 'no such route' } }));

  if (options.workers ?? true) {
    const handler = createEvaluationHandler(evaluationDeps);
    await queue.start({
      [OPERATIONS_JOB]: createOperationsHandler(operationsDeps),
      [EVALUATION_JOB]: async (job) => {
        const end = metrics.evaluationSeconds.startTimer();
        try {
          await handler(job);
        } finally {
          end();
        }
      },
    });
  }

  const retention: RetentionJob = startRetention({
    store,
    policy: retentionPolicy,
    logger,
    ...(options.retentionFirstRunDelayMs !== undefined ? { firstRunDelayMs: options.retentionFirstRunDelayMs } : {}),
  });

  const server: Server = app.listen(options.port ?? config.port, options.host ?? '127.0.0.1');
  await once(server, 'listening');
  const address = server.address() as AddressInfo;
  const url = `http://${address.address.includes(':') ? `[${address.address}]` : address.address}:${address.port}`;
  logger.info({ url, ...describeConfig(config) }, 'clawgate listening');
  let closed = false;
  return {
    url,
    app,
    store,
    queue,
    metrics,
    logger,
    async close() {
      if (closed) return;
      closed = true;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await retention.stop();
      await queue.stop();
      await store.close();
    },
  };
}

