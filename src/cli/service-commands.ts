import { parseArgs } from 'node:util';
import { ConfigError, loadAppConfig, SERVE_ROLES } from '../config/app-config';
import type { CliIo } from './io';

export const SERVE_USAGE = `Usage: clawgate serve [--role all|web|worker]

Starts the service (Forge and Connect surfaces, JSON API, pipeline workers).
  --role all     (default) answer webhooks and run the jobs; on PostgreSQL the jobs run in
                 CLAWGATE_WORKER_PROCESSES forked worker processes (default 1; 0 = in this process),
                 so acks never wait behind evaluations; on SQLite in this process (default 0).
  --role web     answer webhooks, the API and pages; enqueue only (run workers elsewhere).
  --role worker  run jobs, reconciliation and retention; serve only /healthz, /readyz, /metrics.
  CLAWGATE_ROLE sets the same; CLAWGATE_WORKER_CONCURRENCY is jobs in flight per worker process
  (default 4 × cores on PostgreSQL, cores on SQLite); CLAWGATE_WORKER_NICE (default 10) lowers the
  forked worker processes' CPU priority so acks come first. See docs/operations.md.
Configuration from the environment:
  PORT (3000), APP_BASE_URL, DATABASE_URL (sqlite:./data/clawgate.sqlite | postgres://…),
  CLAWGATE_SECRET_KEY (required in production), CONNECT_APP_KEY, CLAWGATE_ALLOWED_HOSTS
  (bitbucket.org,api.bitbucket.org), CLAWGATE_ADMIN_TOKEN, CLAWGATE_QUEUE (table|pg-boss), LOG_LEVEL,
  CLAWGATE_AUDIT_RETENTION_DAYS (400), CLAWGATE_DELIVERY_RETENTION_DAYS (7),
  CLAWGATE_JOB_RETENTION_DAYS (30), CLAWGATE_RETENTION_INTERVAL_MINUTES (360),
  CLAWGATE_FORGE_APP_ID (the Forge app ARI; unset: no Forge surface), CLAWGATE_FORGE_JWKS_URL
  (Atlassian's Forge JWKS), CLAWGATE_FORGE_APP_LINK (Connect descriptor forgeAppLink),
  CLAWGATE_WORKER_ID (this replica's name; default host:pid on PostgreSQL), CLAWGATE_JOB_LEASE_MS
  (a dead replica's job is taken over after this; table 60000, pg-boss 300000), CLAWGATE_QUEUE_POLL_MS.
See README.md "Deploy" for each variable.
`;

export async function runServe(argv: string[], io: CliIo): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    io.stdout(SERVE_USAGE);
    return 0;
  }
  let role: string | undefined;
  try {
    ({
      values: { role },
    } = parseArgs({ args: argv, strict: true, allowPositionals: false, options: { role: { type: 'string' } } }));
  } catch (error) {
    io.stderr(`clawgate serve: ${(error as Error).message} (configuration comes from the environment)\n`);
    return 2;
  }
  if (role !== undefined && !(SERVE_ROLES as readonly string[]).includes(role)) {
    io.stderr('clawgate serve: --role must be all, web or worker\n');
    return 2;
  }
  let config;
  try {
    config = loadAppConfig(role === undefined ? io.env : { ...io.env, CLAWGATE_ROLE: role });
  } catch (error) {
    if (error instanceof ConfigError) {
      io.stderr(`clawgate serve: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  const { startClawgate } = await import('../server/create-server.js');
  const server = await startClawgate({ config, env: io.env, host: io.env.HOST ?? '0.0.0.0' });
  io.stdout(
    `clawgate ${server.role} listening on ${server.url} (public base URL ${config.baseUrl}${server.workerProcesses > 0 ? `, ${server.workerProcesses} worker process${server.workerProcesses === 1 ? '' : 'es'}` : ''})\n`,
  );
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await server.close();
  return 0;
}

export const SANDBOX_USAGE = `Usage: clawgate sandbox [--port N] [--host H]

Starts an empty local Bitbucket Cloud (REST subset, Connect installs, webhooks) and prints its URL.
`;

export async function runSandbox(argv: string[], io: CliIo): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      options: { port: { type: 'string' }, host: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    }));
  } catch (error) {
    io.stderr(`clawgate sandbox: ${(error as Error).message}\n`);
    return 2;
  }
  if (values.help) {
    io.stdout(SANDBOX_USAGE);
    return 0;
  }
  const port = values.port === undefined ? undefined : Number(values.port);
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) {
    io.stderr('clawgate sandbox: --port must be 0–65535\n');
    return 2;
  }
  const { runSandboxCommand } = await import('../sandbox/main.js');
  const sandbox = await runSandboxCommand(
    { ...(port !== undefined ? { port } : {}), ...(values.host ? { host: values.host } : {}) },
    (line: string) => io.stdout(`${line}\n`),
  );
  await new Promise<void>(() => undefined);
  void sandbox;
  return 0;
}

export const DEMO_USAGE = `Usage: clawgate demo

Runs the whole story against a local Bitbucket: installs the app, registers a WPC and keys, opens
agent PRs (compliant, bitbucket-pipelines.yml, replay, tampered signature, model not allowed, a human
PR without a bundle) and prints each verdict, the status and report Bitbucket received, and the
details URL. Exit 0 only when every verdict is the expected one.
`;

export async function runDemoCommand(argv: string[], io: CliIo): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    io.stdout(DEMO_USAGE);
    return 0;
  }
  if (argv.length > 0) {
    io.stderr(`clawgate demo: unexpected argument ${argv[0]}\n`);
    return 2;
  }
  const { runDemo } = await import('../demo/run-demo.js');
  const outcome = await runDemo({ print: (line: string) => io.stdout(`${line}\n`) });
  return outcome.ok ? 0 : 1;
}
