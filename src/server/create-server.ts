import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Express } from 'express';
import pino, { type Logger } from 'pino';
import { createApiRouter, createBitbucketForWorkspace } from '../api';
import { createAdminRouter, isAdminAuthorization } from '../webhooks/admin-routes';
import type { AppConfig, ServeRole } from '../config/app-config';
import { alertingConfig, DEFAULT_API_BUDGET, DEFAULT_API_DEFERRAL, describeConfig } from '../config/app-config';
import { createConnectRouter } from '../connect';
import { CONNECT_PATHS } from '../connect/descriptor';
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
import { ApiBudget } from '../pipeline/api-budget';
import { createHeadCache } from '../pipeline/evaluation/head-cache';
import { createStatusMarker } from '../pipeline/status-mark';
import type { WebhookIntake } from '../pipeline/webhook-intake';
import { EVALUATION_JOB } from '../pipeline/webhook-events';
import { createJobQueue, type JobQueue } from '../queue';
import { startRetention, type RetentionJob } from '../operations/retention';
import { retentionPolicyFromEnv } from '../operations/retention-policy';
import { loadOrCreateSecretKey, openStore, type Store } from '../store';
import { createRepoWebhookRouter, createSignInRouter, REPO_WEBHOOK_PATH } from '../webhooks';
import { createSignInViewerPermissions } from '../http/sign-in-viewer';
import { createVerifier } from '../verification';
import { AggregatorRegistry } from 'prom-client';
import os from 'node:os';
import { defaultWorkerId } from '../queue';
import { createMetrics, type ClawgateMetrics } from './metrics';
import { forkWorkerProcesses, type WorkerProcesses } from './worker-processes';
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
  /** What this process does (see StartOptions.role). */
  readonly role: ServeRole;
  /** Worker processes forked by the `all` role (0: jobs run in this process, or not at all). */
  readonly workerProcesses: number;
  /** Process ids of the live forked worker processes (empty when none). */
  workerPids(): number[];
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
  /** The API budget's clock (tests: an hour passes without waiting for it); Date.now when absent. */
  apiBudgetNow?: () => number;
  fetch?: typeof fetch;
  /** Table-queue poll interval (tests use a short one). */
  pollIntervalMs?: number;
  /** Start the workers (default true). */
  workers?: boolean;
  /** Reconciliation interval (default 5 minutes, `CLAWGATE_RECONCILE_INTERVAL_MS`). */
  reconcileIntervalMs?: number;
  /** Delay before the first retention purge (default 60 s; see src/operations/retention.ts). */
  retentionFirstRunDelayMs?: number;
  /**
   * What this process does (default config.role, else `all`; docs/operations.md "Roles"): `web`
   * answers HTTP and runs no jobs; `worker` runs jobs (and periodic work) and serves only health and
   * metrics; `all` both, the jobs in `workerProcesses` forked processes (0: in this process).
   */
  role?: ServeRole;
  /** Worker processes the `all` role forks (default config.workerProcesses, else 1 on PostgreSQL, 0 on SQLite). */
  workerProcesses?: number;
  /** Periodic work (reconciliation, retention) in this process (default true; a forked worker process: false). */
  periodicWork?: boolean;
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
  const logger =
    options.logger ??
    pino({
      level: config.logLevel,
      redact: { paths: ['req.headers.authorization', '*.sharedSecret', '*.token', '*.secret'], censor: '[redacted]' },
    });
  const keys = loadOrCreateSecretKey(config.database.dataDirectory, {
    CLAWGATE_SECRET_KEY: config.secretKey,
    CLAWGATE_SECRET_KEY_PREVIOUS: config.previousSecretKeys.join(','),
    NODE_ENV: config.production ? 'production' : env.NODE_ENV,
  });
  for (const warning of keys.warnings) logger.warn(warning);
  const store = await openStore(config.databaseUrl, { secretKey: keys.current, previousSecretKeys: keys.previous });
  // Roles (docs/operations.md): where jobs run, and whether this process answers webhooks.
  const role: ServeRole = options.role ?? config.role ?? 'all';
  const jobsEnabled = options.workers ?? true;
  const workerProcessCount =
    role === 'all' && jobsEnabled
      ? (options.workerProcesses ?? config.workerProcesses ?? (store.dialect === 'postgres' ? 1 : 0))
      : 0;
  const runJobsHere = jobsEnabled && (role === 'worker' || (role === 'all' && workerProcessCount === 0));
  const periodicHere = (options.periodicWork ?? true) && role !== 'web';
  // Jobs in flight per process: an evaluation mostly waits on Bitbucket, so several overlap per
  // core. SQLite serialises writes, so it keeps a smaller default.
  const concurrency =
    config.workerConcurrency ??
    (store.dialect === 'postgres'
      ? Math.max(4, 4 * os.availableParallelism())
      : Math.max(2, os.availableParallelism()));
  const pollIntervalMs = options.pollIntervalMs ?? config.queuePollMs;
  // CLAWGATE_JOB_LEASE_MS: how soon a dead replica's job is taken over (docs/operations.md).
  const leaseMs = config.jobLeaseMs;
  const reportQueueError = (error: unknown, context: { readonly phase: string; readonly jobId?: string }): void =>
    logger.error(
      { phase: context.phase, jobId: context.jobId, err: error instanceof Error ? error.message : String(error) },
      'queue error',
    );
  const queue = createJobQueue(store, {
    env: { CLAWGATE_QUEUE: env.CLAWGATE_QUEUE, CLAWGATE_WORKER_ID: env.CLAWGATE_WORKER_ID },
    table: {
      concurrency,
      ...(pollIntervalMs ? { pollIntervalMs } : {}),
      ...(leaseMs ? { leaseMs } : {}),
      onError: reportQueueError,
    },
    pgBoss: {
      concurrency,
      ...(pollIntervalMs ? { pollIntervalMs: Math.max(500, pollIntervalMs) } : {}),
      // pg-boss finds an expired job at its next maintenance: run that at least as often as the lease.
      ...(leaseMs
        ? {
            expireInSeconds: Math.ceil(leaseMs / 1000),
            maintenanceIntervalSeconds: Math.min(30, Math.ceil(leaseMs / 1000)),
          }
        : {}),
      onError: reportQueueError,
    },
  });
  // A forked worker process reports no queue gauges: its parent does (they would be summed twice).
  const metrics = createMetrics(options.periodicWork === false ? {} : { backlog: () => queue.backlog() });
  // The `all` role's forked worker processes (started below, once the routes are up). The table
  // queue has no cross-process wake-up: every enqueue here is forwarded to them over IPC
  // (pg-boss's enqueue NOTIFYs every process already).
  let workerProcesses: WorkerProcesses | null = null;
  const surfaceQueue: JobQueue = {
    backend: queue.backend,
    async enqueue(name, payload, enqueueOptions) {
      const result = await queue.enqueue(name, payload, enqueueOptions);
      if (!result.deduped && queue.backend === 'table') workerProcesses?.wake(name);
      return result;
    },
    start: (handlers) => queue.start(handlers),
    stop: () => queue.stop(),
    wake: (name) => queue.wake(name),
    backlog: () => queue.backlog(),
  };
  // Every clawgate status carries a mark only clawgate can make (forged-status defence, docs/architecture.md §2).
  const statusMarker = createStatusMarker(keys.current, keys.previous);
  const pipelineIntake = createPipelineIntake({
    store,
    queue: surfaceQueue,
    logger,
    statusMarker,
    forgedStatusCoalesceMs: alertingConfig(config).restoreCoalesceMs,
  });
  const intake: WebhookIntake = {
    async receive(delivery) {
      const result = await pipelineIntake.receive(delivery);
      metrics.webhooks.inc({
        surface: delivery.surface,
        event: delivery.eventKey,
        outcome: result.duplicate ? 'duplicate' : 'accepted',
      });
      return result;
    },
  };
  const requestRecheck = createRecheckRequester({ store, queue: surfaceQueue });
  // Bundles are parsed and verified in worker threads with a time budget (src/verification); only
  // where evaluations run.
  const verifier = runJobsHere
    ? createVerifier({
        ...(config.verifyThreads ? { threads: config.verifyThreads } : {}),
        ...(config.verifyTimeBudgetMs ? { timeBudgetMs: config.verifyTimeBudgetMs } : {}),
      })
    : undefined;
  const reevaluateAgentPullRequests = createAgentPullRequestReevaluator({ store, queue: surfaceQueue });
  // Every job's Bitbucket calls count against its installation's hourly budget (src/pipeline/api-budget.ts).
  const apiBudget = new ApiBudget({
    store,
    config: config.apiBudget ?? DEFAULT_API_BUDGET,
    logger,
    ...(options.apiBudgetNow ? { now: options.apiBudgetNow } : {}),
    observer: {
      onCall: (workspace, outcome) => {
        if (outcome === 'rate_limited') metrics.apiRateLimited.inc({ workspace });
        else metrics.apiCalls.inc({ workspace, outcome });
      },
    },
  });
  const headCache = createHeadCache();
  const evaluationDeps = {
    store,
    config,
    logger,
    statusMarker,
    apiBudget,
    headCache,
    // Out of API budget, an evaluation waits for it as a delayed job (docs/operations.md).
    deferral: {
      queue: surfaceQueue,
      config: config.apiDeferral ?? DEFAULT_API_DEFERRAL,
      onDeferred: (workspace: string, cause: 'budget' | 'rate_limited') =>
        metrics.apiDeferrals.inc({ workspace, cause }),
    },
    ...(verifier !== undefined ? { verifier } : {}),
    ...(options.now ? { now: options.now } : {}),
    ...(options.fetch ? { fetch: options.fetch } : {}),
  };
  // Alerts are rows first and requests later, sent by their own timer (and woken when one is raised),
  // so a slow or failing receiver never holds up a job.
  const alertDeliverer = createAlertDeliverer(
    { store, config, logger },
    { intervalMs: options.workers === false ? undefined : 15_000 },
  );
  const operationsDeps = {
    store,
    config,
    logger,
    statusMarker,
    requestRecheck,
    apiBudget,
    queue: surfaceQueue,
    wakeAlerts: () => alertDeliverer.wake(),
    ...(options.fetch ? { fetch: options.fetch } : {}),
  };

  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.use(securityHeaders);
  // Ack latency of every webhook surface, measured from the request's arrival to its answer.
  app.use((req, res, next) => {
    const surface = req.method === 'POST' ? webhookSurfaceOf(req.path) : null;
    if (surface !== null) {
      const end = metrics.webhookAckSeconds.startTimer({ surface });
      res.once('finish', () => end({ status: `${Math.floor(res.statusCode / 100)}xx` }));
    }
    next();
  });
  app.get('/healthz', (_req, res) => void res.json({ status: 'ok' }));
  app.get('/readyz', async (_req, res) => {
    const ok = await store.ping();
    res.status(ok ? 200 : 503).json({ status: ok ? 'ready' : 'database unavailable' });
  });
  // /metrics: on a separate listener (CLAWGATE_METRICS_PORT), or here behind CLAWGATE_METRICS_TOKEN,
  // or not at all (docs/operations.md). Never open on the public listener.
  const sendMetrics = async (_req: express.Request, res: express.Response): Promise<void> => {
    res.setHeader('Cache-Control', 'no-store');
    if (workerProcesses === null) {
      res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
      return;
    }
    // This process's metrics summed with its worker processes' (evaluations run there).
    const merged = AggregatorRegistry.aggregate([
      await metrics.registry.getMetricsAsJSON(),
      ...(await workerProcesses.metrics()),
    ]);
    res.type(merged.contentType).send(await merged.metrics());
  };
  const metricsToken = config.metricsPort === undefined ? config.metricsToken : undefined;
  app.get('/metrics', async (req, res) => {
    if (metricsToken === undefined)
      return void res.status(404).json({ error: { code: 'NOT_FOUND', message: 'no such route' } });
    if (!isAdminAuthorization(req.headers.authorization, metricsToken)) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="clawgate-metrics"');
      return void res
        .status(401)
        .json({ error: { code: 'UNAUTHENTICATED', message: 'send Authorization: Bearer <metrics token>' } });
    }
    await sendMetrics(req, res);
  });
  // A page viewer's Bitbucket permissions (reads and writes through page JWTs, page links), asked
  // with the workspace's installation and cached briefly; shared by the API and the Connect pages.
  if (role !== 'worker') mountSurfaces();
  function mountSurfaces(): void {
    const viewerPermissions = createViewerPermissions({
      clientFor: activeTenantClient({ store, config, logger, ...(options.fetch ? { fetch: options.fetch } : {}) }),
      logger,
    });
    // A person signed in with Bitbucket (webhook workspaces): asked with their own token (docs/sign-in.md).
    const signInViewerPermissions = createSignInViewerPermissions({
      store,
      config,
      logger,
      ...(options.fetch ? { fetch: options.fetch } : {}),
    });
    app.use(
      createConnectRouter({
        config,
        store,
        intake,
        logger,
        viewerPermissions,
        signInViewerPermissions,
        ...(options.fetch ? { fetch: options.fetch } : {}),
      }),
    );
    app.use(createRepoWebhookRouter({ store, intake, logger }));
    app.use(createSignInRouter({ config, store, logger, ...(options.fetch ? { fetch: options.fetch } : {}) }));
    // Before the API router, which answers every path it does not know with 404.
    app.use(
      '/api/v1',
      createAdminRouter({ config, store, logger, ...(options.fetch ? { fetch: options.fetch } : {}) }),
    );
    const apiOptions = {
      config,
      store,
      logger,
      recheck: requestRecheck,
      reevaluateAgentPullRequests,
      // A page JWT alone is any reader of any repository: what the viewer may do is asked of Bitbucket.
      viewerPermissions,
      signInViewerPermissions,
      // The settings page's merge-check checklist reads (and creates) branch restrictions.
      bitbucketForWorkspace: createBitbucketForWorkspace({
        store,
        config,
        logger,
        ...(options.fetch ? { fetch: options.fetch } : {}),
      }),
      // Bundle uploads are parsed in its workers, not on the event loop.
      verifier,
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
          queue: surfaceQueue,
          intake,
          logger,
          ...(options.fetch ? { fetch: options.fetch } : {}),
          ...(options.forgeVerifier ? { verifier: options.forgeVerifier } : {}),
          ...(options.forgeMergeCheckBudgetMs !== undefined
            ? { mergeCheckBudgetMs: options.forgeMergeCheckBudgetMs }
            : {}),
        }),
      );
      app.use(
        `${FORGE_PATHS.ui}/api/v1`,
        createApiRouter({
          ...apiOptions,
          externalPrincipal: (request) => {
            const principal = forgeUiPrincipalOf(request);
            return principal === undefined
              ? undefined
              : {
                  method: 'forge',
                  workspaceId: principal.workspaceId,
                  accountId: principal.accountId,
                  tenant: principal.tenant,
                };
          },
        }),
      );
    }
  }
  app.use((_req, res) => void res.status(404).json({ error: { code: 'NOT_FOUND', message: 'no such route' } }));

  if (runJobsHere) {
    const handler = createEvaluationHandler(evaluationDeps, (outcome) => {
      metrics.evaluations.inc({
        state: outcome.verdict?.state ?? outcome.status,
        status: outcome.verdict?.statusState ?? 'NONE',
      });
    });
    await queue.start({
      [OPERATIONS_JOB]: createOperationsHandler(operationsDeps),
      [EVALUATION_JOB]: async (job) => {
        const end = metrics.evaluationSeconds.startTimer();
        const trace = { roundTrips: 0 };
        try {
          await store.traceQueries(trace, () => handler(job));
          // Which replica ran which job (`npm run cluster` shows these lines per replica).
          logger.info({ jobId: job.id, key: job.key, attempt: job.attempt }, 'evaluation job done');
        } finally {
          end();
          metrics.evaluationDbRoundTrips.observe(trace.roundTrips);
        }
      },
    });
  }

  // Periodic work runs where jobs may run (not in a `web` process, not in a forked worker process:
  // its parent runs it); retention and reconciliation hold leases, so replicas run each pass once.
  const retention: RetentionJob | null = periodicHere
    ? startRetention({
        store,
        policy: retentionPolicy,
        logger,
        leases: store.leases,
        ...(env.CLAWGATE_WORKER_ID ? { holder: env.CLAWGATE_WORKER_ID } : {}),
        ...(options.retentionFirstRunDelayMs !== undefined
          ? { firstRunDelayMs: options.retentionFirstRunDelayMs }
          : {}),
      })
    : null;

  const reconcileFromEnv = Number(env.CLAWGATE_RECONCILE_INTERVAL_MS);
  const reconcileDeps = {
    store,
    queue: surfaceQueue,
    config,
    logger,
    apiBudget,
    ...(options.fetch ? { fetch: options.fetch } : {}),
  };
  const reconcileOptions = {
    intervalMs:
      options.reconcileIntervalMs ??
      (Number.isSafeInteger(reconcileFromEnv) && reconcileFromEnv >= 10_000 ? reconcileFromEnv : undefined),
    ...(env.CLAWGATE_WORKER_ID ? { holder: env.CLAWGATE_WORKER_ID } : {}),
  };
  // A `web` process keeps a reconciler it never schedules, so `runOnce` (tests, operators) still works.
  const reconciler = periodicHere
    ? startReconciliation(reconcileDeps, reconcileOptions)
    : startReconciliation(reconcileDeps, { ...reconcileOptions, firstRunDelayMs: 2 ** 31 - 1 });

  if (workerProcessCount > 0) {
    const baseWorkerId = defaultWorkerId(store.dialect, env);
    const clockOffsetMs = options.now !== undefined ? Math.round(options.now() - Date.now()) : undefined;
    workerProcesses = await forkWorkerProcesses({
      count: workerProcessCount,
      logger,
      env: { ...(options.env ?? process.env) },
      start: (index) => ({
        type: 'start',
        config,
        workerId: `${baseWorkerId}:w${index}`,
        ...(options.pollIntervalMs !== undefined ? { pollIntervalMs: options.pollIntervalMs } : {}),
        ...(clockOffsetMs !== undefined ? { clockOffsetMs } : {}),
      }),
    });
  }

  const server: Server = app.listen(options.port ?? config.port, options.host ?? '127.0.0.1');
  await once(server, 'listening');
  let metricsServer: Server | undefined;
  let metricsUrl: string | undefined;
  if (config.metricsPort !== undefined) {
    const metricsApp = express();
    metricsApp.disable('x-powered-by');
    metricsApp.get('/metrics', sendMetrics);
    metricsApp.use(
      (_req, res) => void res.status(404).json({ error: { code: 'NOT_FOUND', message: 'no such route' } }),
    );
    metricsServer = metricsApp.listen(config.metricsPort, config.metricsHost ?? '127.0.0.1');
    await once(metricsServer, 'listening');
    const metricsAddress = metricsServer.address() as AddressInfo;
    metricsUrl = `http://${metricsAddress.address.includes(':') ? `[${metricsAddress.address}]` : metricsAddress.address}:${metricsAddress.port}`;
  }
  const address = server.address() as AddressInfo;
  const url = `http://${address.address.includes(':') ? `[${address.address}]` : address.address}:${address.port}`;
  logger.info(
    { url, ...describeConfig(config), role, workerProcesses: workerProcessCount, jobsHere: runJobsHere, concurrency },
    'clawgate listening',
  );
  let closed = false;
  return {
    url,
    ...(metricsUrl !== undefined ? { metricsUrl } : {}),
    app,
    store,
    queue: surfaceQueue,
    metrics,
    logger,
    reconciler,
    role,
    workerProcesses: workerProcessCount,
    workerPids: () => workerProcesses?.pids() ?? [],
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
      await workerProcesses?.close();
      await retention?.stop();
      await reconciler.stop();
      await queue.stop();
      await alertDeliverer.stop();
      await verifier?.close();
      await store.close();
    },
  };
}

/** Which webhook surface a POST path is (for the ack-latency histogram), or null. */
function webhookSurfaceOf(path: string): 'connect' | 'repo_webhooks' | 'forge' | null {
  if (path === CONNECT_PATHS.webhook) return 'connect';
  if (path === REPO_WEBHOOK_PATH || path.startsWith(`${REPO_WEBHOOK_PATH}/`)) return 'repo_webhooks';
  if (path === FORGE_PATHS.events) return 'forge';
  return null;
}
