/**
 * Benchmark (finding 6): while workspace `acme` has clawgate evaluate a ~10 MiB junk bundle committed
 * on an agent PR, how long does another workspace (`beta`) wait for its API answers? The server,
 * the sandbox standing in for Bitbucket and this client share one process and the machine's cores,
 * as in the e2e tests; the bundle is parsed and verified in clawgate's worker threads. Target: no
 * answer to `beta` delayed by more than 100 ms over its baseline. Bounded: three junk PRs, polls
 * every 10 ms until each has its final status. `--write` records the table in bench/RESULTS.md.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import pino from 'pino';
import { loadAppConfig } from '../src/config/app-config';
import { startSandbox, type BitbucketSandbox } from '../src/sandbox';
import { startClawgate } from '../src/server/create-server';
import { freePort } from '../src/server/free-port';
import { writeResultsSection } from './results-file';
import {
  callApi,
  clawgateStatus,
  finalStatus,
  openAgentPullRequest,
  pageJwt,
  prepareWorkspace,
} from '../test/e2e/harness';

const TEN_MIB = 10 * 1024 * 1024;

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

const ENVELOPE_HEAD =
  '{"envelope_version":"1","envelope_type":"proof_bundle","payload":{"bundle_version":"1","bundle_id":"junk","agent_did":"did:key:zjunk","receipts":';
const ENVELOPE_TAIL =
  '},"payload_hash_b64u":"x","hash_algorithm":"SHA-256","signature_b64u":"x","algorithm":"Ed25519","signer_did":"did:key:zjunk","issued_at":"2026-01-01T00:00:00Z"}';
const room = TEN_MIB - ENVELOPE_HEAD.length - ENVELOPE_TAIL.length - 16;

const JUNK: { name: string; body: () => string }[] = [
  {
    name: 'unsigned receipts (one array)',
    body: () => {
      const receipt = '{"envelope_type":"gateway_receipt","payload":{}}';
      return `${ENVELOPE_HEAD}[${Array(Math.floor(room / (receipt.length + 1)))
        .fill(receipt)
        .join(',')}]${ENVELOPE_TAIL}`;
    },
  },
  {
    name: 'nested arrays (5 M deep)',
    body: () => `${ENVELOPE_HEAD}${'['.repeat(room / 2)}${']'.repeat(room / 2)}${ENVELOPE_TAIL}`,
  },
  {
    name: 'one object, 700 k keys',
    body: () => {
      const keys: string[] = [];
      let size = 2;
      for (let i = 0; size < room; i++) {
        const entry = `"k${i}":0`;
        keys.push(entry);
        size += entry.length + 1;
      }
      keys.pop();
      return `${ENVELOPE_HEAD}{${keys.join(',')}}${ENVELOPE_TAIL}`;
    },
  },
];

async function secondWorkspace(sandbox: BitbucketSandbox, url: string): Promise<string> {
  sandbox.createWorkspace({ slug: 'beta', name: 'Beta' });
  const installation = await sandbox.installApp({ descriptorUrl: `${url}/atlassian-connect.json`, workspace: 'beta' });
  const tokenPath = '/api/v1/workspaces/beta/tokens';
  const token = await callApi(
    url,
    'POST',
    tokenPath,
    `JWT ${pageJwt(sandbox, installation.clientKey, 'POST', tokenPath)}`,
    {},
  );
  if (token.status !== 201) throw new Error(`beta token: ${token.status}`);
  return `Bearer ${String(token.json.token)}`;
}

/** API latencies, and the event loop's longest stall (ms) over the same window. */
async function poll(
  url: string,
  bearer: string,
  until: () => boolean,
  maxMs: number,
): Promise<number[] & { loopMaxMs?: number }> {
  const histogram = monitorEventLoopDelay({ resolution: 5 });
  histogram.enable();
  const latencies: number[] & { loopMaxMs?: number } = [];
  const deadline = Date.now() + maxMs;
  while (!until() && Date.now() < deadline) {
    const started = performance.now();
    const answer = await callApi(url, 'GET', '/api/v1/workspaces/beta/settings', bearer);
    latencies.push(performance.now() - started);
    if (answer.status !== 200) throw new Error(`beta settings: ${answer.status}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  histogram.disable();
  latencies.loopMaxMs = histogram.max / 1e6;
  return latencies;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'clawgate-bench-'));
  const sandbox = await startSandbox();
  const port = await freePort();
  const threads = Number(process.env.CLAWGATE_VERIFY_THREADS ?? os.availableParallelism());
  const config = loadAppConfig({
    CLAWGATE_VERIFY_THREADS: String(threads),
    PORT: String(port),
    APP_BASE_URL: `http://127.0.0.1:${port}`,
    DATABASE_URL: `sqlite:${path.join(dir, 'db.sqlite')}`,
    CLAWGATE_SECRET_KEY: Buffer.alloc(32, 3).toString('hex'),
    CLAWGATE_ALLOWED_HOSTS: new URL(sandbox.baseUrl).host,
  });
  const app = await startClawgate({ config, port, logger: pino({ level: 'silent' }), pollIntervalMs: 20, env: {} });
  const rows: string[] = [];
  try {
    const acme = await prepareWorkspace(sandbox, app.url, { mode: 'enforce' });
    const beta = await secondWorkspace(sandbox, app.url);
    // Warm up: a genuine agent PR per worker, so worker start-up is not counted against the junk.
    for (let i = 0; i < threads; i++) {
      const pr = openAgentPullRequest(sandbox, acme, `agent/warm-${i}`, {
        [`src/w${i}.ts`]: `export const w = ${i};\n`,
      });
      const status = await finalStatus(sandbox, pr.head, 60_000);
      if (status.state !== 'SUCCESSFUL') throw new Error(`warm-up PR got ${String(status.state)}`);
    }
    let n = 0;
    const baseline = await poll(app.url, beta, () => ++n > 200, 60_000);
    rows.push(
      `| baseline (no junk) | ${baseline.length} | ${percentile(baseline, 50).toFixed(1)} | ${percentile(baseline, 99).toFixed(1)} | ${Math.max(...baseline).toFixed(1)} | ${(baseline.loopMaxMs ?? 0).toFixed(1)} | | |`,
    );
    for (const [i, junk] of JUNK.entries()) {
      if (process.env.BENCH_JUNK && !junk.name.startsWith(process.env.BENCH_JUNK)) continue;
      const text = junk.body();
      const branch = `agent/junk-${i}`;
      sandbox.commit('acme/proj-web', {
        branch,
        author: 'claw-bot',
        message: 'work',
        files: { [`src/j${i}.ts`]: `export const j = ${i};\n` },
      });
      const head = sandbox.commit('acme/proj-web', {
        branch,
        author: 'claw-bot',
        message: 'bundle',
        files: { '.clawsig/proof_bundle.json': text },
      }).hash;
      const started = Date.now();
      sandbox.openPullRequest('acme/proj-web', {
        source: branch,
        author: 'claw-bot',
        title: branch,
        description: 'Proof-Bundle: junk',
      });
      const done = () => {
        const status = clawgateStatus(sandbox, head);
        return status !== undefined && status.state !== 'INPROGRESS';
      };
      const latencies = await poll(app.url, beta, done, 120_000);
      const status = clawgateStatus(sandbox, head);
      const code = String(status?.description ?? 'none').split(':')[0];
      rows.push(
        `| ${junk.name}, ${(Buffer.byteLength(text) / 1048576).toFixed(1)} MiB | ${latencies.length} | ${percentile(latencies, 50).toFixed(1)} | ${percentile(latencies, 99).toFixed(1)} | ${Math.max(...latencies).toFixed(1)} | ${(latencies.loopMaxMs ?? 0).toFixed(1)} | ${String(status?.state ?? 'none')} ${code} | ${((Date.now() - started) / 1000).toFixed(1)} s |`,
      );
    }
  } finally {
    await app.close();
    await sandbox.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const report = [
    "| workspace `acme` is evaluating | `beta` API answers | p50 (ms) | p99 (ms) | max (ms) | longest event-loop stall (ms) | `acme`'s status | time to status |",
    '|---|---:|---:|---:|---:|---:|---|---:|',
    ...rows,
    '',
    `Machine: ${os.cpus()[0]?.model ?? 'unknown CPU'} × ${os.cpus().length}, Node ${process.version}, SQLite store, verification pool of ${threads} worker thread(s), sandbox in the same process. Date: ${new Date().toISOString().slice(0, 10)}.`,
    '',
  ].join('\n');
  process.stdout.write(report);
  if (process.argv.includes('--write'))
    writeResultsSection(
      '<!-- junk-bundle-latency -->',
      'Cross-workspace API latency under a 10 MiB junk bundle (`npm run bench:junk`)',
      report,
    );
}

void main();
