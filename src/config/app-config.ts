import { z } from 'zod';
import { parseDatabaseUrl, type DatabaseConfig } from './database';

/**
 * The service's configuration from the environment (design §9), validated at the edge. Secrets are
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

const alertHostPattern = /^(?:\*\.)?(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*(?::\d{1,5})?$/i;

function parseAlerting(e: z.infer<typeof envSchema>, production: boolean): AlertingConfig {
  const hosts = (e.CLAWGATE_ALERT_ALLOWED_HOSTS ?? '').split(',').map((h) => h.trim().toLowerCase()).filter((h) => h.length > 0);
  for (const host of hosts) if (!alertHostPattern.test(host)) throw new ConfigError(`CLAWGATE_ALERT_ALLOWED_HOSTS: "${host}" is not host[:port] or *.domain`);
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

export interface ForgeConfig {
  /** The Forge app ARI (`ari:cloud:ecosystem::app/<uuid>`): every invocation token's `aud`. */
  readonly appId: string;
  /** Where the invocation tokens' signing keys are published. */
  readonly jwksUrl: string;
}

/** Atlassian's JWKS for Forge invocation tokens, all environments of commercial cloud (docs/forge.md). */
export const FORGE_JWKS_URL = 'https://forge.cdn.prod.atlassian-dev.net/.well-known/jwks.json';
export const FORGE_APP_ID_PATTERN = /^ari:cloud:ecosystem::app\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

const hostPattern = /^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*(?::\d{1,5})?$|^\[[0-9a-f:]+\](?::\d{1,5})?$/i;

const envSchema = z.object({
  PORT: z.string().regex(/^\d+$/, 'must be a port number').optional(),
  APP_BASE_URL: z.url({ protocol: /^https?$/ }).optional(),
  DATABASE_URL: z.string().optional(),
  CLAWGATE_SECRET_KEY: z.string().min(1).optional(),
  CLAWGATE_SECRET_KEY_PREVIOUS: z.string().optional(),
  CONNECT_APP_KEY: z.string().regex(/^[a-zA-Z0-9._-]{1,80}$/, 'letters, digits, . _ - (≤ 80)').optional(),
  CONNECT_APP_NAME: z.string().min(1).max(80).optional(),
  CLAWGATE_ALLOWED_HOSTS: z.string().optional(),
  CLAWGATE_ADMIN_TOKEN: z.string().min(24, 'must be at least 24 characters').optional(),
  NODE_ENV: z.string().optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional(),
  CLAWGATE_MAX_BUNDLE_BYTES: z.string().regex(/^\d+$/).optional(),
  CLAWGATE_VERIFY_THREADS: z.string().regex(/^[1-9]\d{0,2}$/, 'must be 1–999').optional(),
  CLAWGATE_VERIFY_TIME_BUDGET_MS: z.string().regex(/^[1-9]\d{2,6}$/, 'must be 100–9999999').optional(),
  CLAWGATE_HOST_SCRIPT_URL: z.string().min(1).optional(),
  CLAWGATE_FORGE_APP_ID: z.string().regex(FORGE_APP_ID_PATTERN, 'must be the Forge app ARI, ari:cloud:ecosystem::app/<uuid>').optional(),
  CLAWGATE_FORGE_JWKS_URL: z.url({ protocol: /^https?$/ }).optional(),
  CLAWGATE_FORGE_APP_LINK: z.url({ protocol: /^https$/ }).optional(),
  CLAWGATE_METRICS_TOKEN: z.string().min(24, 'must be at least 24 characters').optional(),
  CLAWGATE_METRICS_PORT: z.string().regex(/^\d{1,5}$/, 'must be a port number').optional(),
  CLAWGATE_METRICS_HOST: z.string().min(1).max(255).optional(),
  CLAWGATE_ALERT_ALLOWED_HOSTS: z.string().max(4096).optional(),
  CLAWGATE_ALERT_ALLOW_LOOPBACK: z.enum(['0', '1']).optional(),
  CLAWGATE_ALERT_RETRY_BASE_MS: z.string().regex(/^[1-9]\d{1,7}$/, 'must be 10–99999999').optional(),
  CLAWGATE_ALERT_MAX_ATTEMPTS: z.string().regex(/^[1-9]\d?$/, 'must be 1–99').optional(),
  CLAWGATE_RESTORE_COALESCE_MS: z.string().regex(/^\d{1,5}$/, 'must be 0–99999').optional(),
  CLAWGATE_RESTORE_RETRY_BASE_MS: z.string().regex(/^[1-9]\d{1,7}$/, 'must be 10–99999999').optional(),
  CLAWGATE_RESTORE_MAX_AGE_MS: z.string().regex(/^[1-9]\d{2,9}$/, 'must be 100–9999999999').optional(),
  CLAWGATE_RESTORE_ALERT_FAILURES: z.string().regex(/^[1-9]\d{0,3}$/, 'must be 1–9999').optional(),
  CLAWGATE_RESTORE_ALERT_WINDOW_MS: z.string().regex(/^[1-9]\d{2,9}$/, 'must be 100–9999999999').optional(),
});

export const DEFAULT_ALLOWED_HOSTS = ['bitbucket.org', 'api.bitbucket.org'] as const;

export function parseAllowedHostList(value: string | undefined): string[] {
  if (value === undefined || value.trim() === '') return [...DEFAULT_ALLOWED_HOSTS];
  const hosts = value.split(',').map((h) => h.trim().toLowerCase()).filter((h) => h.length > 0);
  for (const host of hosts) if (!hostPattern.test(host)) throw new ConfigError(`CLAWGATE_ALLOWED_HOSTS: "${host}" is not host[:port]`);
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
    previousSecretKeys: (e.CLAWGATE_SECRET_KEY_PREVIOUS ?? '').split(',').map((k) => k.trim()).filter(Boolean),
    appKey: e.CONNECT_APP_KEY ?? 'io.clawgate.bitbucket',
    appName: e.CONNECT_APP_NAME ?? 'clawgate',
    allowedHosts: parseAllowedHostList(e.CLAWGATE_ALLOWED_HOSTS),
    adminToken: e.CLAWGATE_ADMIN_TOKEN,
    production,
    logLevel: e.LOG_LEVEL ?? (production ? 'info' : 'warn'),
    maxBundleBytes: e.CLAWGATE_MAX_BUNDLE_BYTES === undefined ? 10 * 1024 * 1024 : Number(e.CLAWGATE_MAX_BUNDLE_BYTES),
    maxBodyBytes: 12 * 1024 * 1024,
    hostScriptUrl: e.CLAWGATE_HOST_SCRIPT_URL ?? 'https://bitbucket.org/atlassian-connect/all.js',
    forge: e.CLAWGATE_FORGE_APP_ID === undefined ? null : { appId: e.CLAWGATE_FORGE_APP_ID, jwksUrl: e.CLAWGATE_FORGE_JWKS_URL ?? FORGE_JWKS_URL },
    forgeAppLink: e.CLAWGATE_FORGE_APP_LINK ?? null,
    ...(e.CLAWGATE_VERIFY_THREADS !== undefined ? { verifyThreads: Number(e.CLAWGATE_VERIFY_THREADS) } : {}),
    ...(e.CLAWGATE_VERIFY_TIME_BUDGET_MS !== undefined ? { verifyTimeBudgetMs: Number(e.CLAWGATE_VERIFY_TIME_BUDGET_MS) } : {}),
    ...(e.CLAWGATE_METRICS_TOKEN !== undefined ? { metricsToken: e.CLAWGATE_METRICS_TOKEN } : {}),
    ...(e.CLAWGATE_METRICS_PORT !== undefined ? { metricsPort: Number(e.CLAWGATE_METRICS_PORT) } : {}),
    ...(e.CLAWGATE_METRICS_HOST !== undefined ? { metricsHost: e.CLAWGATE_METRICS_HOST } : {}),
    alerting: parseAlerting(e, production),
  };
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
    metrics: config.metricsPort !== undefined ? `separate listener ${config.metricsHost ?? '127.0.0.1'}:${config.metricsPort}` : config.metricsToken ? 'token required' : 'disabled',
    secretKey: config.secretKey ? 'from environment' : 'generated in data directory',
    forge: config.forge === null ? 'disabled' : { appId: config.forge.appId, jwksUrl: config.forge.jwksUrl },
  };
}
