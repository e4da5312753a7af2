/**
 * Load benchmark (issue 15): signed Connect webhooks sent open-loop to a real `clawgate serve`
 * (a separate process, role `all`: on PostgreSQL it forks its worker process) on loopback, with the
 * sandbox answering every REST call after `--latency-ms` (default 80).
 *
 *   npm run bench:load -- [--quick] [--write] [--latency-ms 80] [--rate 200] [--seconds 60] [--burst 2000]
 *                          [--worker-processes 1]   (0: evaluations in the process that acks, as before issue 15)
 *
 * (a) `--rate` deliveries/s for `--seconds` while evaluations run: ack p50/p99. The stream is new
 *     agent PRs (`pullrequest:created`, half compliant) plus redeliveries (same X-Request-UUID, as
 *     Bitbucket retries) filling the rest of the rate; the mix is reported.
 * (b) a burst of `--burst` new PRs at 200/s: deliveries not answered within 10 s (Bitbucket's timeout).
 * (c) from (w)+(a)+(b): evaluations/hour (PRs evaluated / time from first delivery to last final status)
 *     and PR delivery → final status p50/p99.
 * Checks: every PR's final status is the expected one (compliant → SUCCESSFUL, no bundle → FAILED),
 * no 5xx, every PR evaluated exactly once (evaluations rows per PR). Loopback only; bounded by the
 * counts above and a 15-minute deadline. Uses CLAWGATE_TEST_PG_URL, else the test suite's embedded
 * PostgreSQL. `--quick`: 50/s for 10 s after a 3 s warm-up, a 200-PR burst. The server's own ack
 * histogram (/metrics) for (a) is reported beside the client's figures.
 */
import { execFileSync, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createQueryStringHash, encodeSymmetric, fromMethodAndUrl } from 'atlassian-jwt';
import { Client } from 'pg';
import { startSandbox, type BitbucketSandbox } from '../src/sandbox';
import { freePort } from '../src/server/free-port';
import {
  clawgateStatus,
  openAgentPullRequest,
  prepareWorkspace,
  TEST_SECRET_KEY,
  waitFor,
  type Workspace,
} from '../test/e2e/harness';
import globalSetup from '../test/support/global-setup';
import globalTeardown from '../test/support/global-teardown';
import { createTestDatabase } from '../test/store/support/postgres';
import { writeResultsSection } from './results-file';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    write: { type: 'boolean', default: false },
    'latency-ms': { type: 'string', default: '80' },
    rate: { type: 'string' },
    seconds: { type: 'string' },
    burst: { type: 'string' },
    'new-per-second': { type: 'string' },
    'worker-processes': { type: 'string', default: '1' },
    'warmup-seconds': { type: 'string' },
    'from-source': { type: 'boolean', default: false },
    'cpu-prof': { type: 'string' },
  },
});
const quick = values.quick ?? false;
const latencyMs = Number(values['latency-ms']);
const rate = Number(values.rate ?? (quick ? 50 : 200));
const seconds = Number(values.seconds ?? (quick ? 10 : 60));
const burst = Number(values.burst ?? (quick ? 200 : 2000));
/** New PRs per second in phase (a): what the pipeline can evaluate, so (a) measures acks under steady work. */
const newPerSecond = Number(values['new-per-second'] ?? (quick ? 3 : 4));
/**
 * Seconds of the same traffic before (a), reported on their own line: the first seconds after a start
 * pay for JIT compilation, the pool's first connections and the verification threads' start, once.
 */
const warmupSeconds = Number(values['warmup-seconds'] ?? (quick ? 3 : 10));
/**
 * By default the server runs as users run it (`npm start`: the compiled dist/, built here first);
 * `--from-source` runs the TypeScript through tsx, which compiles every module (and every worker
 * thread's) on first load: seconds of CPU taken from the acks at the start.
 */
const fromSource = values['from-source'] ?? false;
const DEADLINE = Date.now() + 15 * 60_000;
const ACK_TIMEOUT_MS = 10_000;

const METRICS_TOKEN = randomUUID() + randomUUID();

/**
 * The server's own ack histogram (`clawgate_webhook_ack_seconds`, all labels summed): cumulative
 * count per bucket bound, read from `/metrics`. The server measures from the request's arrival to
 * its answer, so this side of the figure does not include the client's own scheduling.
 */
async function serverAckBuckets(url: string): Promise<Map<number, number>> {
  const text = await (await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text();
  const buckets = new Map<number, number>();
  for (const line of text.split('\n')) {
    const match = /^clawgate_webhook_ack_seconds_bucket\{(.*)\} (\S+)$/.exec(line);
    const le = match?.[1] !== undefined ? /le="([^"]+)"/.exec(match[1])?.[1] : undefined;
    if (match?.[2] === undefined || le === undefined) continue;
    const bound = le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le);
    buckets.set(bound, (buckets.get(bound) ?? 0) + Number(match[2]));
  }
  return buckets;
}

/** The bucket bound (ms) under which `p` % of the answers counted between `before` and `after` fall. */
function bucketPercentile(before: Map<number, number>, after: Map<number, number>, p: number): string {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const total = (after.get(Number.POSITIVE_INFINITY) ?? 0) - (before.get(Number.POSITIVE_INFINITY) ?? 0);
  for (const bound of bounds) {
    const count = (after.get(bound) ?? 0) - (before.get(bound) ?? 0);
    if (count >= (p / 100) * total) return bound === Number.POSITIVE_INFINITY ? '> 10 s' : `≤ ${bound * 1000}`;
  }
  return 'n/a';
}

interface PlannedSend {
  /** Index of the PR in the sender's list. */
  readonly pr: number;
  readonly redelivery: boolean;
  readonly jwt: string;
}

interface SendResult {
  readonly pr: number;
  readonly redelivery: boolean;
  /** Epoch ms when the request was sent. */
  readonly sentAt: number;
  /** Request → answer read, or null when none came (network error, 30 s timeout). */
  readonly ms: number | null;
  readonly status: number | null;
  readonly error?: string;
}

/**
 * The open-loop sender, plain JavaScript for a worker thread (`eval`): `run` messages carry a plan
 * and a rate; each request is timed on the worker's own clock and loop; all results come back at the
 * end of the plan.
 */
const SENDER = `
const { parentPort, workerData } = require('node:worker_threads');
const { randomUUID } = require('node:crypto');
const { url, prs } = workerData;
parentPort.on('message', async ({ plan, perSecond }) => {
  const results = [];
  const inFlight = new Set();
  const deliver = (item) => {
    const pr = prs[item.pr];
    const sentAt = Date.now();
    const started = performance.now();
    const sent = fetch(url, {
      method: 'POST',
      headers: {
        authorization: 'JWT ' + item.jwt,
        'content-type': 'application/json',
        'x-event-key': 'pullrequest:created',
        'x-request-uuid': pr.requestUuid,
        'x-hook-uuid': randomUUID(),
        'x-attempt-number': item.redelivery ? '2' : '1',
      },
      body: pr.body,
      signal: AbortSignal.timeout(30000),
    })
      .then(async (response) => {
        const text = await response.text();
        results.push({ pr: item.pr, redelivery: item.redelivery, sentAt, ms: performance.now() - started, status: response.status,
          ...(response.status >= 300 ? { error: response.status + ' ' + text.slice(0, 300) } : {}) });
      })
      .catch((error) => {
        results.push({ pr: item.pr, redelivery: item.redelivery, sentAt, ms: null, status: null,
          error: error instanceof Error ? error.message + ' ' + String(error.cause ?? '') : String(error) });
      })
      .finally(() => inFlight.delete(sent));
    inFlight.add(sent);
  };
  const start = performance.now();
  let next = 0;
  while (next < plan.length) {
    const due = Math.min(plan.length, Math.floor(((performance.now() - start) / 1000) * perSecond) + 1);
    while (next < due) deliver(plan[next++]);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  await Promise.all([...inFlight]);
  parentPort.postMessage(results);
});
`;

class Sender {
  readonly #worker: Worker;
  constructor(url: string, prs: readonly { body: string; requestUuid: string }[]) {
    this.#worker = new Worker(SENDER, { eval: true, workerData: { url, prs } });
  }

  run(plan: readonly PlannedSend[], perSecond: number): Promise<SendResult[]> {
    return new Promise((resolve, reject) => {
      const onError = (error: Error): void => reject(error);
      this.#worker.once('error', onError);
      this.#worker.once('message', (results: SendResult[]) => {
        this.#worker.off('error', onError);
        resolve(results);
      });
      this.#worker.postMessage({ plan, perSecond });
    });
  }

  async close(): Promise<void> {
    await this.#worker.terminate();
  }
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
}

interface AgentPr {
  readonly prId: number;
  readonly head: string;
  readonly expected: 'SUCCESSFUL' | 'FAILED';
  /** The `pullrequest:created` delivery the sandbox built (and was told not to send). */
  readonly body: string;
  readonly requestUuid: string;
  firstSentAt?: number;
  finalAt?: number;
}

interface Ack {
  readonly ms: number | null;
  readonly status: number | null;
}

function openPrs(sandbox: BitbucketSandbox, ws: Workspace, count: number, prefix: string): AgentPr[] {
  const prs: AgentPr[] = [];
  for (let n = 0; n < count; n += 1) {
    const compliant = n % 2 === 0;
    const branch = `agent/${prefix}-${n}`;
    let opened: { prId: number; head: string };
    if (compliant)
      opened = openAgentPullRequest(sandbox, ws, branch, { [`src/${prefix}/${n}.ts`]: `export const v = ${n};\n` });
    else {
      // An agent PR without a proof bundle: enforce mode fails it.
      const commit = sandbox.commit('acme/proj-web', {
        branch,
        author: 'claw-bot',
        message: 'agent work, no bundle',
        files: { [`src/${prefix}/${n}.ts`]: `export const v = ${n};\n` },
      });
      const pr = sandbox.openPullRequest('acme/proj-web', { source: branch, author: 'claw-bot', title: branch });
      opened = { prId: pr.id, head: commit.hash };
    }
    const delivery = [...sandbox.deliveries].reverse().find((d) => d.event === 'pullrequest:created');
    if (delivery === undefined) throw new Error(`no delivery recorded for PR ${opened.prId}`);
    prs.push({
      prId: opened.prId,
      head: opened.head,
      expected: compliant ? 'SUCCESSFUL' : 'FAILED',
      body: delivery.body,
      requestUuid: delivery.requestUuid,
    });
  }
  return prs;
}

async function main(): Promise<void> {
  await globalSetup();
  const loadBefore = os
    .loadavg()
    .map((n) => n.toFixed(2))
    .join(' / ');
  const database = await createTestDatabase('bench_load');
  const sandbox = await startSandbox();
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env = {
    ...process.env,
    PORT: String(port),
    HOST: '127.0.0.1',
    APP_BASE_URL: url,
    DATABASE_URL: database.url,
    CLAWGATE_SECRET_KEY: TEST_SECRET_KEY,
    CLAWGATE_ALLOWED_HOSTS: new URL(sandbox.baseUrl).host,
    LOG_LEVEL: 'silent',
    CLAWGATE_RECONCILE_INTERVAL_MS: String(3_600_000),
    CLAWGATE_WORKER_PROCESSES: values['worker-processes'] ?? '1',
    // One installation gets all the load here; its real budget (1,000 calls/hour) would cap the run at
    // ≈110 evaluations/hour and measure the budget, not the pipeline (bench:calls covers the budget).
    CLAWGATE_API_CALLS_PER_HOUR: '0',
    CLAWGATE_METRICS_TOKEN: METRICS_TOKEN,
  };
  const root = path.join(__dirname, '..');
  if (!fromSource) {
    process.stderr.write('[load] building dist/ (tsc) so the server runs as `npm start` runs it\n');
    for (const project of ['tsconfig.build.json', 'migrations/tsconfig.json'])
      execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', project], {
        cwd: root,
        stdio: 'inherit',
      });
  }
  // From source: the tsx CLI (not only its require hook): `serve` loads the server with a dynamic import.
  const server = spawn(
    process.execPath,
    [
      // `--cpu-prof DIR`: a V8 CPU profile of the serve process (the one that acks), written at its exit.
      ...(values['cpu-prof'] !== undefined ? ['--cpu-prof', `--cpu-prof-dir=${values['cpu-prof']}`] : []),
      ...(fromSource
        ? [require.resolve('tsx/cli'), path.join(root, 'src/cli/main.ts'), 'serve']
        : [path.join(root, 'bin/clawgate.js'), 'serve']),
    ],
    { env, stdio: ['ignore', 'inherit', 'inherit'] },
  );
  const report: string[] = [];
  try {
    await waitFor(
      async () => {
        if (server.exitCode !== null) throw new Error(`clawgate serve exited (${server.exitCode})`);
        return (await fetch(`${url}/healthz`).catch(() => null))?.ok ? true : undefined;
      },
      120_000,
      'clawgate serve to listen',
    );
    const ws = await prepareWorkspace(sandbox, url);
    const installation = sandbox.listInstallations()[0];
    if (installation === undefined) throw new Error('not installed');
    // From here on the sandbox sends no webhook: this script delivers them, open-loop.
    sandbox.loseWebhooks({});
    const warmupPrs = openPrs(sandbox, ws, Math.ceil(newPerSecond * warmupSeconds), 'warmup');
    const steadyPrs = openPrs(sandbox, ws, Math.ceil(newPerSecond * seconds), 'steady');
    const burstPrs = openPrs(sandbox, ws, burst, 'burst');
    process.stderr.write(`[load] ${warmupPrs.length + steadyPrs.length + burstPrs.length} PRs opened; sending\n`);
    // The per-installation API budget (1,000/hour, enforced by the sandbox) is another part of issue 15:
    // lifted here so this measures the pipeline's flow, not the budget.
    sandbox.rateLimit.limitPerHour = 100_000_000;
    if (latencyMs > 0) sandbox.faults.inject({ latencyMs, count: Number.POSITIVE_INFINITY });

    const acks: { phase: 'w' | 'a' | 'b'; ack: Ack }[] = [];
    const trace: [number, number, number][] = [];
    let firstError: string | null = null;
    const acked = new Set<AgentPr>();
    const everyPr = [...warmupPrs, ...steadyPrs, ...burstPrs];
    const indexOf = new Map(everyPr.map((pr, i) => [pr, i]));
    // The sender runs in a worker thread: its own event loop, so the sandbox (which answers the
    // workers' Bitbucket calls on this thread) never delays a send or the clock that times its answer.
    const sender = new Sender(
      `${url}/connect/webhook`,
      everyPr.map((pr) => ({ body: pr.body, requestUuid: pr.requestUuid })),
    );
    const planned = new Set<AgentPr>();
    const jwt = (): string => {
      const iat = Math.floor(Date.now() / 1000);
      return encodeSymmetric(
        {
          iss: installation.clientKey,
          aud: installation.clientKey,
          iat,
          exp: iat + 600,
          qsh: createQueryStringHash(fromMethodAndUrl('POST', '/connect/webhook'), false),
        },
        installation.sharedSecret,
      );
    };
    const step = (pr: AgentPr): PlannedSend => {
      const redelivery = planned.has(pr);
      planned.add(pr);
      return { pr: indexOf.get(pr) ?? -1, redelivery, jwt: jwt() };
    };
    /** Open loop in the sender: `plan` at `perSecond`, in 10 ms ticks, whatever the answers do. */
    const send = async (plan: readonly PlannedSend[], phase: 'w' | 'a' | 'b', perSecond: number): Promise<void> => {
      for (const result of await sender.run(plan, perSecond)) {
        const pr = everyPr[result.pr];
        if (pr === undefined) continue;
        pr.firstSentAt = Math.min(pr.firstSentAt ?? Number.POSITIVE_INFINITY, result.sentAt);
        if (result.status !== null && result.status >= 200 && result.status < 300) acked.add(pr);
        if (firstError === null && result.error !== undefined) firstError = result.error;
        acks.push({ phase, ack: { ms: result.ms, status: result.status } });
        if (result.ms !== null) trace.push([result.sentAt, Math.round(result.ms), result.redelivery ? 1 : 0]);
      }
    };

    // (w) then (a), steady: new PRs spread evenly, redeliveries of already-sent PRs fill the rate.
    const steadyPlan = (prs: readonly AgentPr[], phaseSeconds: number): PlannedSend[] => {
      const total = Math.round(rate * phaseSeconds);
      const plan: PlannedSend[] = [];
      let nextNew = 0;
      for (let i = 0; i < total; i += 1) {
        const dueNew = Math.max(1, Math.floor(((i + 1) / total) * prs.length));
        const pr = nextNew < dueNew ? prs[nextNew++] : prs[(i * 7919) % nextNew];
        if (pr !== undefined) plan.push(step(pr));
      }
      return plan;
    };
    const steady = { redeliveries: 0, serverAck: 'n/a' };
    const firstSentAt = Date.now();
    try {
      if (warmupSeconds > 0) {
        await send(steadyPlan(warmupPrs, warmupSeconds), 'w', rate);
        process.stderr.write(`[load] (w) warm-up sent and answered\n`);
      }
      const plan = steadyPlan(steadyPrs, seconds);
      const redeliveries = plan.length - steadyPrs.length;
      const serverBeforeA = await serverAckBuckets(url);
      const clientLag = monitorEventLoopDelay({ resolution: 10 });
      clientLag.enable();
      await send(plan, 'a', rate);
      clientLag.disable();
      const serverAfterA = await serverAckBuckets(url);
      steady.redeliveries = redeliveries;
      steady.serverAck = `${bucketPercentile(serverBeforeA, serverAfterA, 50)} / ${bucketPercentile(serverBeforeA, serverAfterA, 99)}`;
      if (process.env.LOAD_ACK_TRACE) writeFileSync(process.env.LOAD_ACK_TRACE, JSON.stringify(trace));
      process.stderr.write(
        `[load] (a) sent and answered; server-side ack p50 ${bucketPercentile(serverBeforeA, serverAfterA, 50)} ms, p99 ${bucketPercentile(serverBeforeA, serverAfterA, 99)} ms; the sandbox's event loop (not the sender's) delay p99 ${(clientLag.percentile(99) / 1e6).toFixed(1)} ms, max ${(clientLag.max / 1e6).toFixed(1)} ms\n`,
      );
      // (b) the burst: every PR new, at 200/s.
      await send(burstPrs.map(step), 'b', 200);
    } finally {
      await sender.close();
    }

    const statuses = new Map<string, number>();
    for (const { ack } of acks) statuses.set(String(ack.status), (statuses.get(String(ack.status)) ?? 0) + 1);
    process.stderr.write(
      `[load] (b) sent and answered (${JSON.stringify(Object.fromEntries(statuses))}${firstError !== null ? `; first error ${firstError}` : ''}); waiting for final statuses\n`,
    );
    // (c) wait for every final status of a PR whose delivery was acknowledged (bounded: 5 minutes
    // after the last answer); a PR none of whose deliveries got a 2xx is counted as unanswered.
    const all = everyPr.filter((pr) => acked.has(pr));
    const unacknowledgedPrs = warmupPrs.length + steadyPrs.length + burstPrs.length - all.length;
    const waitUntil = Math.min(DEADLINE, Date.now() + 5 * 60_000);
    await waitFor(
      () => {
        const now = Date.now();
        for (const pr of all)
          if (pr.finalAt === undefined && (clawgateStatus(sandbox, pr.head)?.state ?? 'INPROGRESS') !== 'INPROGRESS')
            pr.finalAt = now;
        return all.every((pr) => pr.finalAt !== undefined) || Date.now() > waitUntil ? true : undefined;
      },
      16 * 60_000,
      'every final status',
    );
    const finishedAt = Math.max(...all.map((pr) => pr.finalAt ?? 0));
    const wrong = all.filter((pr) => clawgateStatus(sandbox, pr.head)?.state !== pr.expected);
    const noFinal = all.filter((pr) => pr.finalAt === undefined).length;
    const pg = new Client({ connectionString: database.url });
    await pg.connect();
    const metricsText = await (
      await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })
    ).text();
    // What /metrics says about the same evaluations (the worker processes' counters, summed by the
    // serve process): the operations doc tells admins to watch verdicts by state there.
    const countedInMetrics = metricsText
      .split('\n')
      .filter((line) => line.startsWith('clawgate_evaluations_total{'))
      .reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
    const doubles = await pg.query<{ n: string }>(
      'SELECT count(*) AS n FROM (SELECT pr_id FROM evaluations GROUP BY pr_id, head_sha HAVING count(*) > 1) d',
    );
    const evaluated = await pg.query<{ n: string }>('SELECT count(DISTINCT pr_id) AS n FROM evaluations');
    await pg.end();

    const ackA = acks.filter((a) => a.phase === 'a').map((a) => a.ack);
    const ackB = acks.filter((a) => a.phase === 'b').map((a) => a.ack);
    const ms = (list: Ack[]) => list.flatMap((a) => (a.ms === null ? [] : [a.ms]));
    const fivexx = acks.filter((a) => a.ack.status !== null && a.ack.status >= 500).length;
    const unanswered = ackB.filter((a) => a.ms === null || a.ms > ACK_TIMEOUT_MS || a.status === null).length;
    const toFinal = all.flatMap((pr) =>
      pr.finalAt !== undefined && pr.firstSentAt !== undefined ? [(pr.finalAt - pr.firstSentAt) / 1000] : [],
    );
    const perHour = Math.round(((all.length - noFinal) / Math.max(1, finishedAt - firstSentAt)) * 3_600_000);
    const ackW = acks.filter((a) => a.phase === 'w').map((a) => a.ack);
    report.push(
      `Run ${new Date().toISOString().slice(0, 16)}Z${quick ? ' (--quick)' : ''}: clawgate serve ${fromSource ? 'from the TypeScript sources (tsx)' : 'from dist/ (as `npm start`)'} (role all, PostgreSQL, pg-boss, CLAWGATE_WORKER_PROCESSES=${values['worker-processes'] ?? '1'}, default concurrency) and the sandbox with ${latencyMs} ms on every REST call, loopback; ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'CPU'}, Node ${process.version}. Load average before the run: ${loadBefore}. clawgate's per-installation API budget is off (CLAWGATE_API_CALLS_PER_HOUR=0): this measures the pipeline; one real installation is held to Bitbucket's ~1,000 calls/hour (≈110 evaluations/hour, docs/operations.md).`,
      '',
      '| measurement | value |',
      '|---|---:|',
      ...(warmupSeconds > 0
        ? [
            `| (w) warm-up, the first ${warmupSeconds} s after the start at ${rate}/s: ack p50 / p99 / max (ms) | ${percentile(ms(ackW), 50).toFixed(1)} / ${percentile(ms(ackW), 99).toFixed(1)} / ${Math.max(...ms(ackW)).toFixed(1)} |`,
          ]
        : []),
      `| (a) ${rate}/s for ${seconds} s: deliveries (new PRs / redeliveries) | ${ackA.length} (${steadyPrs.length} / ${steady.redeliveries}) |`,
      `| (a) ack p50 / p99 / max (ms) | ${percentile(ms(ackA), 50).toFixed(1)} / ${percentile(ms(ackA), 99).toFixed(1)} / ${Math.max(...ms(ackA)).toFixed(1)} |`,
      `| (a) the server's own ack histogram (\`clawgate_webhook_ack_seconds\`): p50 / p99 bucket (ms) | ${steady.serverAck} |`,
      `| (b) burst of ${burst} new PRs at 200/s: not answered within 10 s | ${unanswered} |`,
      `| (b) ack p50 / p99 (ms) | ${percentile(ms(ackB), 50).toFixed(1)} / ${percentile(ms(ackB), 99).toFixed(1)} |`,
      `| (c) evaluations/hour (${all.length - noFinal} PRs, first delivery → last final status) | ${perHour.toLocaleString('en-US')} |`,
      `| (c) PR delivery → final status p50 / p99 (s) | ${percentile(toFinal, 50).toFixed(1)} / ${percentile(toFinal, 99).toFixed(1)} |`,
      `| PRs with no delivery answered 2xx (never retried here) / acknowledged PRs without a final status after 5 min | ${unacknowledgedPrs} / ${noFinal} |`,
      `| wrong verdicts (among those with a final status) / 5xx / PRs evaluated more than once / PRs evaluated | ${wrong.length - noFinal} / ${fivexx} / ${doubles.rows[0]?.n ?? '?'} / ${evaluated.rows[0]?.n ?? '?'} of ${warmupPrs.length + steadyPrs.length + burstPrs.length} |`,
      `| evaluations counted in /metrics (\`clawgate_evaluations_total\`, all labels) | ${countedInMetrics} |`,
      '',
    );
    process.stdout.write(report.join('\n'));
    if (values.write)
      writeResultsSection(
        '<!-- load -->',
        'Load: acks under evaluation load, PostgreSQL pipeline (`npm run bench:load`)',
        report.join('\n'),
      );
    if (wrong.length - noFinal > 0 || fivexx > 0 || Number(doubles.rows[0]?.n ?? 0) > 0) process.exitCode = 1;
  } finally {
    if (server.exitCode === null && server.signalCode === null) {
      const exited = new Promise((resolve) => server.once('exit', resolve));
      server.kill('SIGTERM');
      await exited;
    }
    await sandbox.close();
    await database.drop();
    await globalTeardown();
  }
}

void main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
