import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Express } from 'express';
import pino, { type Logger } from 'pino';
import { createApiRouter, createBitbucketForWorkspace } from '../api';
import { createAdminRouter, isAdminAuthorization } from '../webhooks/admin-routes';
import type { AppConfig } from '../config/app-config';
import { alertingConfig, describeConfig } from '../config/app-config';
import { createConnectRouter } from '../connect';
import { createForgeRouter, FORGE_PATHS, forgeUiPrincipalOf, type FitVerifier } from '../forge';
import { activeTenantClient } from '../pipeline/bitbucket-for-tenant';
import { createViewerPermissions } from '../http/viewer-permissions';
import { createEvaluationHandler } from '../pipeline/evaluation/evaluate-pull-request';
import { createOperationsHandler } from '../pipeline/operations/operations-handler';
import { OPERATIONS_JOB } from '../pipeline/operations-events';
import { createAlertDeliverer, type AlertDeliverer } from '../pipeline/alert-delivery';
import { createPipelineIntake } from '../pipeline/pipeline-intake';
import { createAgentPullRequestReevaluator, createRecheckRequester } from '../pipeline/recheck';
import { startReconciliation, type Reconciler } from '../pipeline/reconcile';
import { createStatusMarker } from '../pipeline/status-mark';
import type { WebhookIntake } from '../pipeline/webhook-intake';
import { EVALUATION_JOB } from '../pipeline/webhook-events';
import { createJobQueue, type JobQueue } from '../queue';
import { startRetention, type RetentionJob } from '../operations/retention';
import { retentionPolicyFromEnv } from '../operations/retention-policy';
import { loadOrCreateSecretKey, openStore, type Store } from '../store';
import { createRepoWebhookRouter } from '../webhooks';
import { createVerifier } from '../verification';
import { createMetrics, type ClawgateMetrics } from './metrics';
import { securityHeaders } from './security-headers';

export interface ClawgateServer {
  readonly url: string;
  /** The separate metrics listener's URL, when CLAWGATE_METRICS_PORT is set. */
  readonly metricsUrl?: string;
  readonly app: Express;
  readonly store: Store;
  readonly queue: JobQueue;
  readonly metrics: ClawgateMetrics;
  readonly logger: Logger;
  /** The periodic reconciliation of open PRs (issue 9); `runOnce(true)` runs a pass now, lease or not. */
  readonly reconciler: Reconciler;
  /** Sends pending alerts to workspaces' alert webhooks; `runOnce()` runs a pass now. */
  readonly alertDeliverer: AlertDeliverer;
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
  /** Reconciliation interval (default 5 minutes, `CLAWGATE_RECONCILE_INTERVAL_MS`). */
  reconcileIntervalMs?: number;
  /** Delay before the first retention purge (default 60 s; see src/operations/retention.ts). */
  retentionFirstRunDelayMs?: number;
  /** Forge invocation-token verifier (tests bind one to their own JWKS); default: the configured JWKS URL. */
  forgeVerifier?: FitVerifier;
  /** How long a Forge merge check waits for a verdict being computed (default 4 s). */
  forgeMergeCheckBudgetMs?: number;
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
  const pipelineIntake = createPipelineIntake({ store, queue, logger, statusMarker, forgedStatusCoalesceMs: alertingConfig(config).restoreCoalesceMs });
  const intake: WebhookIntake = {
    async receive(delivery) {
      const result = await pipelineIntake.receive(delivery);
      metrics.webhooks.inc({ surface: delivery.surface, event: delivery.eventKey, outcome: result.duplicate ? 'duplicate' : 'accepted' });
      return result;
    },
  };
  const requestRecheck = createRecheckRequester({ store, queue });
  // Bundles are parsed and verified in worker threads with a time budget (src/verification).
  const verifier = createVerifier({ ...(config.verifyThreads ? { threads: config.verifyThreads } : {}), ...(config.verifyTimeBudgetMs ? { timeBudgetMs: config.verifyTimeBudgetMs } : {}) });
  const reevaluateAgentPullRequests = createAgentPullRequestReevaluator({ store, queue });
  const evaluationDeps = { store, config, logger, statusMarker, verifier, ...(options.now ? { now: options.now } : {}), ...(options.fetch ? { fetch: options.fetch } : {}) };
  // Alerts are rows first and requests later, sent by their own timer (and woken when one is raised),
  // so a slow or failing receiver never holds up a job.
  const alertDeliverer = createAlertDeliverer({ store, config, logger }, { intervalMs: options.workers === false ? undefined : 15_000 });
  const operationsDeps = { store, config, logger, statusMarker, requestRecheck, queue, wakeAlerts: () => alertDeliverer.wake(), ...(options.fetch ? { fetch: options.fetch } : {}) };

  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.use(securityHeaders);
  app.get('/healthz', (_req, res) => void res.json({ status: 'ok' }));
  app.get('/readyz', async (_req, res) => {
    const ok = await store.ping();
    res.status(ok ? 200 : 503).json({ status: ok ? 'ready' : 'database unavailable' });
  });
  // /metrics: on a separate listener (CLAWGATE_METRICS_PORT), or here behind CLAWGATE_METRICS_TOKEN,
  // or not at all (docs/operations.md). Never open on the public listener.
  const sendMetrics = async (_req: express.Request, res: express.Response): Promise<void> => {
    res.setHeader('Cache-Control', 'no-store');
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  };
  const metricsToken = config.metricsPort === undefined ? config.metricsToken : undefined;
  app.get('/metrics', async (req, res) => {
    if (metricsToken === undefined) return void res.status(404).json({ error: { code: 'NOT_FOUND', message: 'no such route' } });
    if (!isAdminAuthorization(req.headers.authorization, metricsToken)) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="clawgate-metrics"');
      return void res.status(401).json({ error: { code: 'UNAUTHENTICATED', message: 'send Authorization: Bearer <metrics token>' } });
    }
    await sendMetrics(req, res);
  });
  // A page viewer's Bitbucket permissions (reads and writes through page JWTs, page links), asked
  // with the workspace's installation and cached briefly; shared by the API and the Connect pages.
  const viewerPermissions = createViewerPermissions({ clientFor: activeTenantClient({ store, config, logger, ...(options.fetch ? { fetch: options.fetch } : {}) }), logger });
  app.use(createConnectRouter({ config, store, intake, logger, viewerPermissions, ...(options.fetch ? { fetch: options.fetch } : {}) }));
  app.use(createRepoWebhookRouter({ store, intake, logger }));
  // Before the API router, which answers every path it does not know with 404.
  app.use('/api/v1', createAdminRouter({ config, store, logger, ...(options.fetch ? { fetch: options.fetch } : {}) }));
  const apiOptions = {
    config,
    store,
    logger,
    recheck: requestRecheck,
    reevaluateAgentPullRequests,
    // A page JWT alone is any reader of any repository: what the viewer may do is asked of Bitbucket.
    viewerPermissions,
    // The settings page's merge-check checklist reads (and creates) branch restrictions.
    bitbucketForWorkspace: createBitbucketForWorkspace({ store, config, logger, ...(options.fetch ? { fetch: options.fetch } : {}) }),
  };
  app.use('/api/v1', createApiRouter(apiOptions));
  // The Forge front door (only when an app id is configured): its endpoints, and the same JSON API
  // for its pages under /forge/ui/api/v1, behind the Forge gate (invocation token + viewer).
  const forge = config.forge;
  if (forge !== null) {
    app.use(
      createForgeRouter({
        config: { ...config, forge },
        store,
        queue,
        intake,
        logger,
        ...(options.fetch ? { fetch: options.fetch } : {}),
        ...(options.forgeVerifier ? { verifier: options.forgeVerifier } : {}),
        ...(options.forgeMergeCheckBudgetMs !== undefined ? { mergeCheckBudgetMs: options.forgeMergeCheckBudgetMs } : {}),
      }),
    );
    app.use(
      `${FORGE_PATHS.ui}/api/v1`,
      createApiRouter({
        ...apiOptions,
        externalPrincipal: (request) => {
          const principal = forgeUiPrincipalOf(request);
          return principal === undefined ? undefined : { method: 'forge', workspaceId: principal.workspaceId, accountId: principal.accountId, tenant: principal.tenant };
        },
      }),
    );
  }
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

  const reconcileFromEnv = Number(env.CLAWGATE_RECONCILE_INTERVAL_MS);
  const reconciler = startReconciliation(
    { store, queue, config, logger, ...(options.fetch ? { fetch: options.fetch } : {}) },
    { intervalMs: options.reconcileIntervalMs ?? (Number.isSafeInteger(reconcileFromEnv) && reconcileFromEnv >= 10_000 ? reconcileFromEnv : undefined), ...(env.CLAWGATE_WORKER_ID ? { holder: env.CLAWGATE_WORKER_ID } : {}) },
  );

  const server: Server = app.listen(options.port ?? config.port, options.host ?? '127.0.0.1');
  await once(server, 'listening');
  let metricsServer: Server | undefined;
  let metricsUrl: string | undefined;
  if (config.metricsPort !== undefined) {
    const metricsApp = express();
    metricsApp.disable('x-powered-by');
    metricsApp.get('/metrics', sendMetrics);
    metricsApp.use((_req, res) => void res.status(404).json({ error: { code: 'NOT_FOUND', message: 'no such route' } }));
    metricsServer = metricsApp.listen(config.metricsPort, config.metricsHost ?? '127.0.0.1');
    await once(metricsServer, 'listening');
    const metricsAddress = metricsServer.address() as AddressInfo;
    metricsUrl = `http://${metricsAddress.address.includes(':') ? `[${metricsAddress.address}]` : metricsAddress.address}:${metricsAddress.port}`;
  }
  const address = server.address() as AddressInfo;
  const url = `http://${address.address.includes(':') ? `[${address.address}]` : address.address}:${address.port}`;
  logger.info({ url, ...describeConfig(config) }, 'clawgate listening');
  let closed = false;
  return {
    url,
    ...(metricsUrl !== undefined ? { metricsUrl } : {}),
    app,
    store,
    queue,
    metrics,
    logger,
    reconciler,
    alertDeliverer,
    async close() {
      if (closed) return;
      closed = true;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (metricsServer !== undefined) {
        const listener = metricsServer;
        listener.closeAllConnections();
        await new Promise<void>((resolve) => listener.close(() => resolve()));
      }
      await retention.stop();
      await reconciler.stop();
      await queue.stop();
      await alertDeliverer.stop();
      await verifier.close();
      await store.close();
    },
  };
}

