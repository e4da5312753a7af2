import { z } from 'zod';
import { parseDatabaseUrl, type DatabaseConfig } from './database';

/**
 * The service's configuration from the environment (docs/api.md), validated at the edge. Secrets are
 * kept out of `describeConfig` so the config can be logged.
 */
export interface AppConfig {
  readonly port: number;
  /** Public base URL of this service (the Connect descriptor's baseUrl, status URLs). */
  readonly baseUrl: string;
  readonly database: DatabaseConfig;
  readonly databaseUrl: string | undefined;
  /** CLAWGATE_SECRET_KEY as given (undefined: generated into the data directory outside production). */
  readonly secretKey: string | undefined;
  readonly previousSecretKeys: readonly string[];
  /** Connect app key (the descriptor's `key`). */
  readonly appKey: string;
  readonly appName: string;
  /** host[:port] an install's baseUrl/baseApiUrl may name; nothing else is ever called. */
  readonly allowedHosts: readonly string[];
  /** Guards POST /api/v1/workspaces (repository-webhook registrations); unset disables it. */
  readonly adminToken: string | undefined;
  readonly production: boolean;
  readonly logLevel: string;
  /** Upper bound on a proof bundle's size (bytes). */
  readonly maxBundleBytes: number;
  /** Upper bound on a request body (bytes). */
  readonly maxBodyBytes: number;
  /** The Connect JS API served to pages (override for tests and the sandbox). */
  readonly hostScriptUrl: string;
  /** The Forge front door (src/forge, docs/forge.md); null when CLAWGATE_FORGE_APP_ID is unset (the surface answers 404). */
  readonly forge: ForgeConfig | null;
  /** Connect descriptor `forgeAppLink` (the Forge app's distribution link), when migrating to Forge. */
  readonly forgeAppLink: string | null;
  /** Worker threads that verify bundles (default: the machine's available parallelism). */
  readonly verifyThreads?: number;
  /** Time budget of one bundle verification once it runs, in ms (default 20,000); past it: FAIL. */
  readonly verifyTimeBudgetMs?: number;
  /**
   * `/metrics` on the public listener needs `Authorization: Bearer <this>` (CLAWGATE_METRICS_TOKEN).
   * Neither this nor metricsPort: `/metrics` is not served (404).
   */
  readonly metricsToken?: string;
  /** Serve `/metrics` (only) on this separate port, bound to metricsHost (CLAWGATE_METRICS_PORT). */
  readonly metricsPort?: number;
  /** Address of the metrics listener (CLAWGATE_METRICS_HOST, default 127.0.0.1). */
  readonly metricsHost?: string;
  /**
   * What this process does (CLAWGATE_ROLE, docs/operations.md): `web` answers HTTP (acks, API,
   * pages) and runs no jobs; `worker` runs jobs and periodic work and serves only health and
   * metrics; `all` (default) does both, evaluating in `workerProcesses` forked worker processes.
   */
  readonly role?: ServeRole;
  /** Worker processes `all` forks (CLAWGATE_WORKER_PROCESSES; default 1 on PostgreSQL, 0 = in-process on SQLite). */
  readonly workerProcesses?: number;
  /** Jobs in flight per worker process (CLAWGATE_WORKER_CONCURRENCY; default 4 × available parallelism). */
  readonly workerConcurrency?: number;
  /**
   * Nice value of the forked worker processes (CLAWGATE_WORKER_NICE, 0–19, default 10): on a
   * saturated machine the process answering webhooks gets the CPU first, so acks never wait for
   * evaluations (docs/operations.md). 0 leaves them at the parent's priority.
   */
  readonly workerNice?: number;
  /**
   * How long a job claimed by a process that died stays claimed before another replica takes it
   * (CLAWGATE_JOB_LEASE_MS): the table queue's lease (renewed while the handler runs; default 60 s),
   * pg-boss's expireInSeconds (also its handler timeout; default 300 s). docs/operations.md.
   */
  readonly jobLeaseMs?: number;
  /** How often idle workers look for jobs enqueued elsewhere (CLAWGATE_QUEUE_POLL_MS; table 1 s, pg-boss 2 s, ≥ 500 ms). */
  readonly queuePollMs?: number;
  /** Sign in with Bitbucket (docs/sign-in.md); absent: the defaults of `defaultSignInConfig`. */
  readonly signIn?: SignInConfig;
  /** The per-installation Bitbucket API budget (src/pipeline/api-budget.ts; docs/operations.md). Absent: DEFAULT_API_BUDGET. */
  readonly apiBudget?: ApiBudgetConfig;
  /** Evaluations out of API budget wait for it (issue 9, docs/operations.md); absent: DEFAULT_API_DEFERRAL. */
  readonly apiDeferral?: ApiDeferralConfig;
  /** Forged-status restores and outgoing alerts (issue 9); absent: the defaults of `alertingConfig`. */
  readonly alerting?: AlertingConfig;
}

/** Forged-status restores and the per-workspace alert webhook (docs/policy.md "Alerts"). */
export interface AlertingConfig {
  /** Hosts (`host[:port]`, or `*.domain`) an alert webhook URL may name (CLAWGATE_ALERT_ALLOWED_HOSTS); empty: none. */
  readonly allowedHosts: readonly string[];
  /** Tests only: also allow http to loopback (CLAWGATE_ALERT_ALLOW_LOOPBACK=1; refused in production). */
  readonly allowLoopback: boolean;
  /** First retry of an alert after this many ms, doubling up to an hour (CLAWGATE_ALERT_RETRY_BASE_MS). */
  readonly retryBaseMs: number;
  /** Attempts per alert before it is marked failed (CLAWGATE_ALERT_MAX_ATTEMPTS). */
  readonly maxAttempts: number;
  /** Forgeries of one commit by one account within this many ms are restored once (CLAWGATE_RESTORE_COALESCE_MS). */
  readonly restoreCoalesceMs: number;
  /** First retry of a failed restore after this many ms, doubling up to 30 min (CLAWGATE_RESTORE_RETRY_BASE_MS). */
  readonly restoreRetryBaseMs: number;
  /** A restore is retried for at most this long after its first failure (CLAWGATE_RESTORE_MAX_AGE_MS). */
  readonly restoreMaxAgeMs: number;
  /** Alert when this many restores failed in the workspace within `restoreAlertWindowMs` (CLAWGATE_RESTORE_ALERT_FAILURES). */
  readonly restoreAlertFailures: number;
  readonly restoreAlertWindowMs: number;
}

export const DEFAULT_ALERTING: AlertingConfig = {
  allowedHosts: [],
  allowLoopback: false,
  retryBaseMs: 10_000,
  maxAttempts: 12,
  restoreCoalesceMs: 1000,
  restoreRetryBaseMs: 30_000,
  restoreMaxAgeMs: 24 * 60 * 60_000,
  restoreAlertFailures: 5,
  restoreAlertWindowMs: 15 * 60_000,
};

export function alertingConfig(config: Pick<AppConfig, 'alerting'>): AlertingConfig {
  return config.alerting ?? DEFAULT_ALERTING;
}

const alertHostPattern =
  /^(?:\*\.)?(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*(?::\d{1,5})?$/i;

function parseAlerting(e: z.infer<typeof envSchema>, production: boolean): AlertingConfig {
  const hosts = (e.CLAWGATE_ALERT_ALLOWED_HOSTS ?? '')
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter((h) => h.length > 0);
  for (const host of hosts)
    if (!alertHostPattern.test(host))
      throw new ConfigError(`CLAWGATE_ALERT_ALLOWED_HOSTS: "${host}" is not host[:port] or *.domain`);
  const allowLoopback = e.CLAWGATE_ALERT_ALLOW_LOOPBACK === '1';
  if (allowLoopback && production) throw new ConfigError('CLAWGATE_ALERT_ALLOW_LOOPBACK: not allowed in production');
  const number = (value: string | undefined, fallback: number) => (value === undefined ? fallback : Number(value));
  return {
    allowedHosts: hosts,
    allowLoopback,
    retryBaseMs: number(e.CLAWGATE_ALERT_RETRY_BASE_MS, DEFAULT_ALERTING.retryBaseMs),
    maxAttempts: number(e.CLAWGATE_ALERT_MAX_ATTEMPTS, DEFAULT_ALERTING.maxAttempts),
    restoreCoalesceMs: number(e.CLAWGATE_RESTORE_COALESCE_MS, DEFAULT_ALERTING.restoreCoalesceMs),
    restoreRetryBaseMs: number(e.CLAWGATE_RESTORE_RETRY_BASE_MS, DEFAULT_ALERTING.restoreRetryBaseMs),
    restoreMaxAgeMs: number(e.CLAWGATE_RESTORE_MAX_AGE_MS, DEFAULT_ALERTING.restoreMaxAgeMs),
    restoreAlertFailures: number(e.CLAWGATE_RESTORE_ALERT_FAILURES, DEFAULT_ALERTING.restoreAlertFailures),
    restoreAlertWindowMs: number(e.CLAWGATE_RESTORE_ALERT_WINDOW_MS, DEFAULT_ALERTING.restoreAlertWindowMs),
  };
}

/**
 * Sign in with Bitbucket (OAuth 2.0 authorization code) for repository-webhook workspaces.
 * Whether Bitbucket Cloud honours PKCE is UNCONFIRMED (Bitbucket documents no `code_challenge`):
 * clawgate sends it anyway (S256) and keeps the consumer secret server-side; `pkce: false` stops
 * sending it (CLAWGATE_OAUTH_PKCE=off) should Bitbucket ever refuse the parameter.
 */
export interface SignInConfig {
  /** CLAWGATE_OAUTH_AUTHORIZE_URL, default https://bitbucket.org/site/oauth2/authorize. */
  readonly authorizeUrl: string;
  /** CLAWGATE_OAUTH_TOKEN_URL, default https://bitbucket.org/site/oauth2/access_token (its host must be allowed). */
  readonly tokenUrl: string;
  /** CLAWGATE_OAUTH_PKCE (on | off, default on). */
  readonly pkce: boolean;
  /** CLAWGATE_SIGNIN_SESSION_SECONDS: the longest a session lasts (default 3600, 300–28800); never past the Bitbucket token. */
  readonly sessionMaxSeconds: number;
}

export const DEFAULT_OAUTH_AUTHORIZE_URL = 'https://bitbucket.org/site/oauth2/authorize';
export const DEFAULT_OAUTH_TOKEN_URL = 'https://bitbucket.org/site/oauth2/access_token';

export function defaultSignInConfig(): SignInConfig {
  return {
    authorizeUrl: DEFAULT_OAUTH_AUTHORIZE_URL,
    tokenUrl: DEFAULT_OAUTH_TOKEN_URL,
    pkce: true,
    sessionMaxSeconds: 3600,
  };
}

export const SERVE_ROLES = ['all', 'web', 'worker'] as const;
export type ServeRole = (typeof SERVE_ROLES)[number];

/** What clawgate lets itself spend of an installation's Bitbucket API budget (`/2.0/repositories/*`). */
export interface ApiBudgetConfig {
  /** Calls per installation per rolling hour (CLAWGATE_API_CALLS_PER_HOUR; Bitbucket allows 1,000); 0 turns the budget off. */
  readonly callsPerHour: number;
  /** Kept for writes (statuses, reports, restores): reads stop at callsPerHour − this (CLAWGATE_API_WRITE_RESERVE). */
  readonly writeReserve: number;
  /** Calls one evaluation may spend on reads; past it the evaluation fails closed, API_BUDGET_EXCEEDED (CLAWGATE_API_CALLS_PER_EVALUATION). */
  readonly perEvaluation: number;
  /** After a 429, reads pause this long for the installation (CLAWGATE_API_COOLDOWN_MS). */
  readonly cooldownMs: number;
}

export const DEFAULT_API_BUDGET: ApiBudgetConfig = {
  callsPerHour: 1000,
  writeReserve: 100,
  perEvaluation: 50,
  cooldownMs: 5_000,
};

/**
 * An evaluation refused for API budget (the installation's hour, or a 429 from Bitbucket) is deferred:
 * queued again as a delayed job due when the budget returns, instead of burning the queue's retries.
 */
export interface ApiDeferralConfig {
  /** A deferred job is due no sooner than this (CLAWGATE_API_DEFER_FLOOR_MS). */
  readonly floorMs: number;
  /** Up to this much random delay is added, so deferred jobs do not all wake at once (CLAWGATE_API_DEFER_JITTER_MS). */
  readonly jitterMs: number;
  /** After this long deferred (since the first deferral), the evaluation fails for good: FAILED in enforce (CLAWGATE_API_DEFER_MAX_MS). */
  readonly maxDeferredMs: number;
}

export const DEFAULT_API_DEFERRAL: ApiDeferralConfig = {
  floorMs: 1_000,
  jitterMs: 10_000,
  maxDeferredMs: 24 * 3_600_000,
};

export interface ForgeConfig {
  /** The Forge app ARI (`ari:cloud:ecosystem::app/<uuid>`): every invocation token's `aud`. */
  readonly appId: string;
  /** Where the invocation tokens' signing keys are published. */
  readonly jwksUrl: string;
}

/** Atlassian's JWKS for Forge invocation tokens, all environments of commercial cloud (docs/forge.md). */
export const FORGE_JWKS_URL = 'https://forge.cdn.prod.atlassian-dev.net/.well-known/jwks.json';
export const FORGE_APP_ID_PATTERN =
  /^ari:cloud:ecosystem::app\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

const hostPattern =
  /^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*(?::\d{1,5})?$|^\[[0-9a-f:]+\](?::\d{1,5})?$/i;

const envSchema = z.object({
  PORT: z.string().regex(/^\d+$/, 'must be a port number').optional(),
  APP_BASE_URL: z.url({ protocol: /^https?$/ }).optional(),
  DATABASE_URL: z.string().optional(),
  CLAWGATE_SECRET_KEY: z.string().min(1).optional(),
  CLAWGATE_SECRET_KEY_PREVIOUS: z.string().optional(),
  CONNECT_APP_KEY: z
    .string()
    .regex(/^[a-zA-Z0-9._-]{1,80}$/, 'letters, digits, . _ - (≤ 80)')
    .optional(),
  CONNECT_APP_NAME: z.string().min(1).max(80).optional(),
  CLAWGATE_ALLOWED_HOSTS: z.string().optional(),
  CLAWGATE_ADMIN_TOKEN: z.string().min(24, 'must be at least 24 characters').optional(),
  NODE_ENV: z.string().optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional(),
  CLAWGATE_MAX_BUNDLE_BYTES: z.string().regex(/^\d+$/).optional(),
  CLAWGATE_VERIFY_THREADS: z
    .string()
    .regex(/^[1-9]\d{0,2}$/, 'must be 1–999')
    .optional(),
  CLAWGATE_VERIFY_TIME_BUDGET_MS: z
    .string()
    .regex(/^[1-9]\d{2,6}$/, 'must be 100–9999999')
    .optional(),
  CLAWGATE_HOST_SCRIPT_URL: z.string().min(1).optional(),
  CLAWGATE_FORGE_APP_ID: z
    .string()
    .regex(FORGE_APP_ID_PATTERN, 'must be the Forge app ARI, ari:cloud:ecosystem::app/<uuid>')
    .optional(),
  CLAWGATE_FORGE_JWKS_URL: z.url({ protocol: /^https?$/ }).optional(),
  CLAWGATE_FORGE_APP_LINK: z.url({ protocol: /^https$/ }).optional(),
  CLAWGATE_METRICS_TOKEN: z.string().min(24, 'must be at least 24 characters').optional(),
  CLAWGATE_METRICS_PORT: z
    .string()
    .regex(/^\d{1,5}$/, 'must be a port number')
    .optional(),
  CLAWGATE_METRICS_HOST: z.string().min(1).max(255).optional(),
  CLAWGATE_OAUTH_AUTHORIZE_URL: z.url({ protocol: /^https?$/ }).optional(),
  CLAWGATE_OAUTH_TOKEN_URL: z.url({ protocol: /^https?$/ }).optional(),
  CLAWGATE_OAUTH_PKCE: z.enum(['on', 'off']).optional(),
  CLAWGATE_SIGNIN_SESSION_SECONDS: z
    .string()
    .regex(/^\d{3,5}$/, 'must be 300–28800')
    .refine((v) => Number(v) >= 300 && Number(v) <= 28_800, 'must be 300–28800')
    .optional(),
  CLAWGATE_JOB_LEASE_MS: z
    .string()
    .regex(/^[1-9]\d{3,7}$/, 'must be 1000–99999999')
    .optional(),
  CLAWGATE_QUEUE_POLL_MS: z
    .string()
    .regex(/^[1-9]\d{1,6}$/, 'must be 10–9999999')
    .optional(),
  CLAWGATE_ROLE: z.enum(SERVE_ROLES).optional(),
  CLAWGATE_WORKER_PROCESSES: z
    .string()
    .regex(/^(?:[0-9]|1[0-6])$/, 'must be 0–16')
    .optional(),
  CLAWGATE_WORKER_CONCURRENCY: z
    .string()
    .regex(/^[1-9]\d{0,2}$/, 'must be 1–999')
    .optional(),
  CLAWGATE_WORKER_NICE: z
    .string()
    .regex(/^(?:\d|1\d)$/, 'must be 0–19')
    .optional(),
  CLAWGATE_API_CALLS_PER_HOUR: z
    .string()
    .regex(/^\d{1,6}$/, 'must be 0–999999')
    .optional(),
  CLAWGATE_API_WRITE_RESERVE: z
    .string()
    .regex(/^\d{1,6}$/, 'must be 0–999999')
    .optional(),
  CLAWGATE_API_CALLS_PER_EVALUATION: z
    .string()
    .regex(/^[1-9]\d{0,5}$/, 'must be 1–999999')
    .optional(),
  CLAWGATE_API_COOLDOWN_MS: z
    .string()
    .regex(/^\d{1,8}$/, 'must be 0–99999999')
    .optional(),
  CLAWGATE_API_DEFER_FLOOR_MS: z
    .string()
    .regex(/^\d{1,8}$/, 'must be 0–99999999')
    .optional(),
  CLAWGATE_API_DEFER_JITTER_MS: z
    .string()
    .regex(/^\d{1,8}$/, 'must be 0–99999999')
    .optional(),
  CLAWGATE_API_DEFER_MAX_MS: z
    .string()
    .regex(/^[1-9]\d{0,9}$/, 'must be 1–9999999999')
    .optional(),
  CLAWGATE_ALERT_ALLOWED_HOSTS: z.string().max(4096).optional(),
  CLAWGATE_ALERT_ALLOW_LOOPBACK: z.enum(['0', '1']).optional(),
  CLAWGATE_ALERT_RETRY_BASE_MS: z
    .string()
    .regex(/^[1-9]\d{1,7}$/, 'must be 10–99999999')
    .optional(),
  CLAWGATE_ALERT_MAX_ATTEMPTS: z
    .string()
    .regex(/^[1-9]\d?$/, 'must be 1–99')
    .optional(),
  CLAWGATE_RESTORE_COALESCE_MS: z
    .string()
    .regex(/^\d{1,5}$/, 'must be 0–99999')
    .optional(),
  CLAWGATE_RESTORE_RETRY_BASE_MS: z
    .string()
    .regex(/^[1-9]\d{1,7}$/, 'must be 10–99999999')
    .optional(),
  CLAWGATE_RESTORE_MAX_AGE_MS: z
    .string()
    .regex(/^[1-9]\d{2,9}$/, 'must be 100–9999999999')
    .optional(),
  CLAWGATE_RESTORE_ALERT_FAILURES: z
    .string()
    .regex(/^[1-9]\d{0,3}$/, 'must be 1–9999')
    .optional(),
  CLAWGATE_RESTORE_ALERT_WINDOW_MS: z
    .string()
    .regex(/^[1-9]\d{2,9}$/, 'must be 100–9999999999')
    .optional(),
});

export const DEFAULT_ALLOWED_HOSTS = ['bitbucket.org', 'api.bitbucket.org'] as const;

export function parseAllowedHostList(value: string | undefined): string[] {
  if (value === undefined || value.trim() === '') return [...DEFAULT_ALLOWED_HOSTS];
  const hosts = value
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter((h) => h.length > 0);
  for (const host of hosts)
    if (!hostPattern.test(host)) throw new ConfigError(`CLAWGATE_ALLOWED_HOSTS: "${host}" is not host[:port]`);
  return hosts;
}

export function loadAppConfig(env: NodeJS.ProcessEnv, cwd = process.cwd()): AppConfig {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(`${issue?.path.join('.') ?? 'environment'}: ${issue?.message ?? 'invalid'}`);
  }
  const e = parsed.data;
  const port = e.PORT === undefined ? 3000 : Number(e.PORT);
  if (port < 0 || port > 65535) throw new ConfigError('PORT: must be 0–65535');
  const production = e.NODE_ENV === 'production';
  if (production && !e.CLAWGATE_SECRET_KEY) throw new ConfigError('CLAWGATE_SECRET_KEY: required in production');
  if (production && !e.APP_BASE_URL) throw new ConfigError('APP_BASE_URL: required in production');
  let database: DatabaseConfig;
  try {
    database = parseDatabaseUrl(e.DATABASE_URL, cwd);
  } catch (error) {
    throw new ConfigError(`DATABASE_URL: ${(error as Error).message}`);
  }
  return {
    port,
    baseUrl: (e.APP_BASE_URL ?? `http://127.0.0.1:${port}`).replace(/\/+$/, ''),
    database,
    databaseUrl: e.DATABASE_URL,
    secretKey: e.CLAWGATE_SECRET_KEY,
    previousSecretKeys: (e.CLAWGATE_SECRET_KEY_PREVIOUS ?? '')
      .split(',')
      .map((k) => k.trim())
      .filter(Boolean),
    appKey: e.CONNECT_APP_KEY ?? 'io.clawgate.bitbucket',
    appName: e.CONNECT_APP_NAME ?? 'clawgate',
    allowedHosts: parseAllowedHostList(e.CLAWGATE_ALLOWED_HOSTS),
    adminToken: e.CLAWGATE_ADMIN_TOKEN,
    production,
    logLevel: e.LOG_LEVEL ?? (production ? 'info' : 'warn'),
    maxBundleBytes: e.CLAWGATE_MAX_BUNDLE_BYTES === undefined ? 10 * 1024 * 1024 : Number(e.CLAWGATE_MAX_BUNDLE_BYTES),
    maxBodyBytes: 12 * 1024 * 1024,
    hostScriptUrl: e.CLAWGATE_HOST_SCRIPT_URL ?? 'https://bitbucket.org/atlassian-connect/all.js',
    forge:
      e.CLAWGATE_FORGE_APP_ID === undefined
        ? null
        : { appId: e.CLAWGATE_FORGE_APP_ID, jwksUrl: e.CLAWGATE_FORGE_JWKS_URL ?? FORGE_JWKS_URL },
    forgeAppLink: e.CLAWGATE_FORGE_APP_LINK ?? null,
    ...(e.CLAWGATE_VERIFY_THREADS !== undefined ? { verifyThreads: Number(e.CLAWGATE_VERIFY_THREADS) } : {}),
    ...(e.CLAWGATE_VERIFY_TIME_BUDGET_MS !== undefined
      ? { verifyTimeBudgetMs: Number(e.CLAWGATE_VERIFY_TIME_BUDGET_MS) }
      : {}),
    ...(e.CLAWGATE_METRICS_TOKEN !== undefined ? { metricsToken: e.CLAWGATE_METRICS_TOKEN } : {}),
    ...(e.CLAWGATE_METRICS_PORT !== undefined ? { metricsPort: Number(e.CLAWGATE_METRICS_PORT) } : {}),
    ...(e.CLAWGATE_ROLE !== undefined ? { role: e.CLAWGATE_ROLE } : {}),
    ...(e.CLAWGATE_WORKER_PROCESSES !== undefined ? { workerProcesses: Number(e.CLAWGATE_WORKER_PROCESSES) } : {}),
    ...(e.CLAWGATE_WORKER_CONCURRENCY !== undefined
      ? { workerConcurrency: Number(e.CLAWGATE_WORKER_CONCURRENCY) }
      : {}),
    ...(e.CLAWGATE_WORKER_NICE !== undefined ? { workerNice: Number(e.CLAWGATE_WORKER_NICE) } : {}),
    ...(e.CLAWGATE_METRICS_HOST !== undefined ? { metricsHost: e.CLAWGATE_METRICS_HOST } : {}),
    signIn: {
      authorizeUrl: e.CLAWGATE_OAUTH_AUTHORIZE_URL ?? DEFAULT_OAUTH_AUTHORIZE_URL,
      tokenUrl: e.CLAWGATE_OAUTH_TOKEN_URL ?? DEFAULT_OAUTH_TOKEN_URL,
      pkce: e.CLAWGATE_OAUTH_PKCE !== 'off',
      sessionMaxSeconds:
        e.CLAWGATE_SIGNIN_SESSION_SECONDS === undefined ? 3600 : Number(e.CLAWGATE_SIGNIN_SESSION_SECONDS),
    },
    ...(e.CLAWGATE_JOB_LEASE_MS !== undefined ? { jobLeaseMs: Number(e.CLAWGATE_JOB_LEASE_MS) } : {}),
    ...(e.CLAWGATE_QUEUE_POLL_MS !== undefined ? { queuePollMs: Number(e.CLAWGATE_QUEUE_POLL_MS) } : {}),
    apiBudget: apiBudgetFrom(e),
    apiDeferral: {
      floorMs: Number(e.CLAWGATE_API_DEFER_FLOOR_MS ?? DEFAULT_API_DEFERRAL.floorMs),
      jitterMs: Number(e.CLAWGATE_API_DEFER_JITTER_MS ?? DEFAULT_API_DEFERRAL.jitterMs),
      maxDeferredMs: Number(e.CLAWGATE_API_DEFER_MAX_MS ?? DEFAULT_API_DEFERRAL.maxDeferredMs),
    },
    alerting: parseAlerting(e, production),
  };
}

function apiBudgetFrom(e: z.infer<typeof envSchema>): ApiBudgetConfig {
  const number = (value: string | undefined, fallback: number) => (value === undefined ? fallback : Number(value));
  const budget: ApiBudgetConfig = {
    callsPerHour: number(e.CLAWGATE_API_CALLS_PER_HOUR, DEFAULT_API_BUDGET.callsPerHour),
    writeReserve: number(e.CLAWGATE_API_WRITE_RESERVE, DEFAULT_API_BUDGET.writeReserve),
    perEvaluation: number(e.CLAWGATE_API_CALLS_PER_EVALUATION, DEFAULT_API_BUDGET.perEvaluation),
    cooldownMs: number(e.CLAWGATE_API_COOLDOWN_MS, DEFAULT_API_BUDGET.cooldownMs),
  };
  if (budget.callsPerHour > 0 && budget.writeReserve >= budget.callsPerHour)
    throw new ConfigError('CLAWGATE_API_WRITE_RESERVE: must be below CLAWGATE_API_CALLS_PER_HOUR');
  return budget;
}

/** The config without secrets, for logs. */
export function describeConfig(config: AppConfig): Record<string, unknown> {
  return {
    port: config.port,
    baseUrl: config.baseUrl,
    database: config.database.dialect === 'sqlite' ? `sqlite:${config.database.storage}` : 'postgres',
    appKey: config.appKey,
    allowedHosts: config.allowedHosts,
    adminApi: config.adminToken ? 'enabled' : 'disabled',
    metrics:
      config.metricsPort !== undefined
        ? `separate listener ${config.metricsHost ?? '127.0.0.1'}:${config.metricsPort}`
        : config.metricsToken
          ? 'token required'
          : 'disabled',
    secretKey: config.secretKey ? 'from environment' : 'generated in data directory',
    forge: config.forge === null ? 'disabled' : { appId: config.forge.appId, jwksUrl: config.forge.jwksUrl },
    role: config.role ?? 'all',
    ...(config.workerProcesses !== undefined ? { workerProcesses: config.workerProcesses } : {}),
    ...(config.workerConcurrency !== undefined ? { workerConcurrency: config.workerConcurrency } : {}),
    apiBudget: config.apiBudget ?? DEFAULT_API_BUDGET,
    apiDeferral: config.apiDeferral ?? DEFAULT_API_DEFERRAL,
  };
}
