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
 * (c) from (a)+(b): evaluations/hour (PRs evaluated / time from first delivery to last final status)
 *     and PR delivery → final status p50/p99.
 * Checks: every PR's final status is the expected one (compliant → SUCCESSFUL, no bundle → FAILED),
 * no 5xx, every PR evaluated exactly once (evaluations rows per PR). Loopback only; bounded by the
 * counts above and a 15-minute deadline. Uses CLAWGATE_TEST_PG_URL, else the test suite's embedded
 * PostgreSQL. `--quick`: 50/s for 10 s, a 200-PR burst.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import os from 'node:os';
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
  },
});
const quick = values.quick ?? false;
const latencyMs = Number(values['latency-ms']);
const rate = Number(values.rate ?? (quick ? 50 : 200));
const seconds = Number(values.seconds ?? (quick ? 10 : 60));
const burst = Number(values.burst ?? (quick ? 200 : 2000));
/** New PRs per second in phase (a): what the pipeline can evaluate, so (a) measures acks under steady work. */
const newPerSecond = Number(values['new-per-second'] ?? (quick ? 3 : 4));
const DEADLINE = Date.now() + 15 * 60_000;
const ACK_TIMEOUT_MS = 10_000;

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
  };
  // The tsx CLI (not only its require hook): `serve` loads the server with a dynamic import.
  const server = spawn(
    process.execPath,
    [require.resolve('tsx/cli'), path.join(__dirname, '../src/cli/main.ts'), 'serve'],
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
    const steadyPrs = openPrs(sandbox, ws, Math.ceil(newPerSecond * seconds), 'steady');
    const burstPrs = openPrs(sandbox, ws, burst, 'burst');
    process.stderr.write(`[load] ${steadyPrs.length + burstPrs.length} PRs opened; sending\n`);
    // The per-installation API budget (1,000/hour, enforced by the sandbox) is another part of issue 15:
    // lifted here so this measures the pipeline's flow, not the budget.
    sandbox.rateLimit.limitPerHour = 100_000_000;
    if (latencyMs > 0) sandbox.faults.inject({ latencyMs, count: Number.POSITIVE_INFINITY });

    const acks: { phase: 'a' | 'b'; ack: Ack }[] = [];
    let firstError: string | null = null;
    const acked: AgentPr[] = [];
    const inFlight = new Set<Promise<void>>();
    const deliver = (pr: AgentPr, phase: 'a' | 'b', redelivery: boolean): void => {
      const iat = Math.floor(Date.now() / 1000);
      const jwt = encodeSymmetric(
        {
          iss: installation.clientKey,
          aud: installation.clientKey,
          iat,
          exp: iat + 180,
          qsh: createQueryStringHash(fromMethodAndUrl('POST', '/connect/webhook'), false),
        },
        installation.sharedSecret,
      );
      const started = performance.now();
      pr.firstSentAt ??= Date.now();
      const sent = fetch(`${url}/connect/webhook`, {
        method: 'POST',
        headers: {
          authorization: `JWT ${jwt}`,
          'content-type': 'application/json',
          'x-event-key': 'pullrequest:created',
          'x-request-uuid': pr.requestUuid,
          'x-hook-uuid': randomUUID(),
          'x-attempt-number': redelivery ? '2' : '1',
        },
        body: pr.body,
        signal: AbortSignal.timeout(30_000),
      })
        .then(async (response) => {
          const text = await response.text();
          if (response.status >= 200 && response.status < 300) acked.push(pr);
          if (response.status >= 300 && firstError === null) firstError = `${response.status} ${text.slice(0, 300)}`;
          acks.push({ phase, ack: { ms: performance.now() - started, status: response.status } });
        })
        .catch((error: unknown) => {
          if (firstError === null)
            firstError = error instanceof Error ? `${error.message} ${String(error.cause ?? '')}` : String(error);
          acks.push({ phase, ack: { ms: null, status: null } });
        })
        .finally(() => inFlight.delete(sent));
      inFlight.add(sent);
    };
    /** Open loop: sends `stream` at `perSecond`, in 10 ms ticks, whatever the answers do. */
    const openLoop = async (stream: readonly (() => void)[], perSecond: number): Promise<void> => {
      const start = performance.now();
      let next = 0;
      while (next < stream.length) {
        const due = Math.min(stream.length, Math.floor(((performance.now() - start) / 1000) * perSecond) + 1);
        while (next < due) stream[next++]?.();
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    };

    // (a) steady: new PRs spread evenly, redeliveries of already-sent PRs fill the rate.
    const total = Math.round(rate * seconds);
    const stream: (() => void)[] = [];
    let nextNew = 0;
    for (let i = 0; i < total; i += 1) {
      const dueNew = Math.max(1, Math.floor(((i + 1) / total) * steadyPrs.length));
      const pr = nextNew < dueNew ? steadyPrs[nextNew++] : steadyPrs[(i * 7919) % nextNew];
      if (pr !== undefined) stream.push(() => deliver(pr, 'a', pr.firstSentAt !== undefined));
    }
    const redeliveries = stream.length - steadyPrs.length;
    const startedAt = Date.now();
    await openLoop(stream, rate);
    process.stderr.write(`[load] (a) sent\n`);
    // (b) the burst: every PR new, at 200/s.
    await openLoop(
      burstPrs.map((pr) => () => deliver(pr, 'b', false)),
      200,
    );
    await Promise.all([...inFlight]);

    const statuses = new Map<string, number>();
    for (const { ack } of acks) statuses.set(String(ack.status), (statuses.get(String(ack.status)) ?? 0) + 1);
    process.stderr.write(
      `[load] (b) sent and answered (${JSON.stringify(Object.fromEntries(statuses))}${firstError !== null ? `; first error ${firstError}` : ''}); waiting for final statuses\n`,
    );
    // (c) wait for every final status of a PR whose delivery was acknowledged (bounded: 5 minutes
    // after the last answer); a PR none of whose deliveries got a 2xx is counted as unanswered.
    const acknowledged = new Set(acked);
    const all = [...steadyPrs, ...burstPrs].filter((pr) => acknowledged.has(pr));
    const unacknowledgedPrs = steadyPrs.length + burstPrs.length - all.length;
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
    const perHour = Math.round(((all.length - noFinal) / Math.max(1, finishedAt - startedAt)) * 3_600_000);
    report.push(
      `Run ${new Date().toISOString().slice(0, 16)}Z${quick ? ' (--quick)' : ''}: clawgate serve (role all, PostgreSQL, pg-boss, CLAWGATE_WORKER_PROCESSES=${values['worker-processes'] ?? '1'}, default concurrency) and the sandbox with ${latencyMs} ms on every REST call, loopback; ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'CPU'}, Node ${process.version}. Load average before the run: ${loadBefore}. clawgate's per-installation API budget is off (CLAWGATE_API_CALLS_PER_HOUR=0): this measures the pipeline; one real installation is held to Bitbucket's ~1,000 calls/hour (≈110 evaluations/hour, docs/operations.md).`,
      '',
      '| measurement | value |',
      '|---|---:|',
      `| (a) ${rate}/s for ${seconds} s: deliveries (new PRs / redeliveries) | ${ackA.length} (${steadyPrs.length} / ${redeliveries}) |`,
      `| (a) ack p50 / p99 / max (ms) | ${percentile(ms(ackA), 50).toFixed(1)} / ${percentile(ms(ackA), 99).toFixed(1)} / ${Math.max(...ms(ackA)).toFixed(1)} |`,
      `| (b) burst of ${burst} new PRs at 200/s: not answered within 10 s | ${unanswered} |`,
      `| (b) ack p50 / p99 (ms) | ${percentile(ms(ackB), 50).toFixed(1)} / ${percentile(ms(ackB), 99).toFixed(1)} |`,
      `| (c) evaluations/hour (${all.length - noFinal} PRs, first delivery → last final status) | ${perHour.toLocaleString('en-US')} |`,
      `| (c) PR delivery → final status p50 / p99 (s) | ${percentile(toFinal, 50).toFixed(1)} / ${percentile(toFinal, 99).toFixed(1)} |`,
      `| PRs with no delivery answered 2xx (never retried here) / acknowledged PRs without a final status after 5 min | ${unacknowledgedPrs} / ${noFinal} |`,
      `| wrong verdicts (among those with a final status) / 5xx / PRs evaluated more than once / PRs evaluated | ${wrong.length - noFinal} / ${fivexx} / ${doubles.rows[0]?.n ?? '?'} / ${evaluated.rows[0]?.n ?? '?'} of ${steadyPrs.length + burstPrs.length} |`,
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
