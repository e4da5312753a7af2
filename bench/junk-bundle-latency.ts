/**
 * Benchmark (finding 6): while workspace `acme` has clawgate evaluate a ~10 MiB junk bundle committed
 * on an agent PR, how long does another workspace (`beta`) wait for its API answers? Target: no
 * answer to `beta` delayed by more than 100 ms. The bundle is decoded, parsed and verified in
 * clawgate's worker threads.
 *
 * Layout. By default clawgate runs in a child process of its own (bench/junk-clawgate-process.ts)
 * and the measuring client in a worker thread of this process, beside the sandbox: in production
 * Bitbucket is another machine and the client another program, so neither's work belongs in
 * clawgate's event loop. `--in-process` runs the old layout (server, sandbox and client on one event
 * loop, as in the e2e tests), which also counts the sandbox serving the 10 MiB file and computing its
 * diffstat; both are reported (bench/RESULTS.md, notes) so the layout change is visible. The
 * "longest event-loop stall" column is always clawgate's process.
 *
 * Bounded: four junk PRs (`--quick`: the receipts one only, 50 baseline answers), polls every 10 ms
 * until each has its final status, 120 s at most each. `--write` records the table in bench/RESULTS.md.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
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
  {
    // Within every bound (one value), so it is not refused: the engine runs on it and the evaluation
    // records its text, as for any bundle that was verified.
    name: 'one string of 10 MiB (within the bounds)',
    body: () => `${ENVELOPE_HEAD}["${'x'.repeat(room - 4)}"]${ENVELOPE_TAIL}`,
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

/** clawgate as the bench sees it: its URL, the longest stall of its event loop over a window, close. */
interface Clawgate {
  url: string;
  loopStart(): Promise<void>;
  /** The longest event-loop stall (ms) of clawgate's process since loopStart. */
  loopStop(): Promise<number>;
  close(): Promise<void>;
}

async function inProcessClawgate(config: Record<string, string>, port: number): Promise<Clawgate> {
  const app = await startClawgate({
    config: loadAppConfig(config),
    port,
    logger: pino({ level: 'silent' }),
    pollIntervalMs: 20,
    env: {},
  });
  let histogram: IntervalHistogram | undefined;
  return {
    url: app.url,
    async loopStart() {
      histogram = monitorEventLoopDelay({ resolution: 5 });
      histogram.enable();
    },
    async loopStop() {
      histogram?.disable();
      return (histogram?.max ?? 0) / 1e6;
    },
    close: () => app.close(),
  };
}

/** One answer from the child (junk-clawgate-process.ts) matching `accept`. */
function reply<T>(child: ChildProcess, accept: (message: unknown) => T | undefined): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: unknown) => {
      const value = accept(message);
      if (value === undefined) return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(value);
    };
    const onExit = (code: number | null) => reject(new Error(`clawgate process exited (${String(code)})`));
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

async function separateClawgate(config: Record<string, string>, port: number): Promise<Clawgate> {
  // The child inherits this process's flags (tsx's loader; --cpu-prof when profiling).
  const child = fork(path.join(__dirname, 'junk-clawgate-process.ts'), [], { stdio: 'inherit' });
  const started = reply(child, (m) =>
    typeof m === 'object' && m !== null && 'url' in m ? String((m as { url: unknown }).url) : undefined,
  );
  child.send({ config, port });
  const url = await started;
  return {
    url,
    async loopStart() {
      const ack = reply(child, (m) => (m === 'loop-started' ? true : undefined));
      child.send('loop-start');
      await ack;
    },
    async loopStop() {
      const max = reply(child, (m) =>
        typeof m === 'object' && m !== null && 'loopMaxMs' in m
          ? Number((m as { loopMaxMs: unknown }).loopMaxMs)
          : undefined,
      );
      child.send('loop-stop');
      return max;
    },
    async close() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.send('close');
      await exited;
    },
  };
}

/**
 * The measuring client in a worker thread (its own event loop, so the sandbox's work on this
 * thread's loop does not delay it): GETs `url` every 10 ms until told to stop, `maxCount` answers
 * or `maxMs`, and answers the latencies.
 */
const POLLER = `
const { parentPort, workerData } = require('node:worker_threads');
const { url, authorization, maxCount, maxMs } = workerData;
let stop = false;
parentPort.on('message', () => { stop = true; });
(async () => {
  const latencies = [];
  const deadline = Date.now() + maxMs;
  let failure;
  while (!stop && latencies.length < maxCount && Date.now() < deadline) {
    const started = performance.now();
    const response = await fetch(url, { headers: { authorization } });
    await response.arrayBuffer();
    latencies.push(performance.now() - started);
    if (response.status !== 200) { failure = response.status; break; }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  parentPort.postMessage({ latencies, failure });
})();
`;

/** `beta`'s API latencies until `until()` (checked every 10 ms) or `maxCount` answers, and clawgate's longest stall. */
async function poll(
  clawgate: Clawgate,
  bearer: string,
  until: () => boolean,
  options: { maxCount: number; maxMs: number; inProcess: boolean },
): Promise<{ latencies: number[]; loopMaxMs: number }> {
  const url = `${clawgate.url}/api/v1/workspaces/beta/settings`;
  await clawgate.loopStart();
  let latencies: number[] = [];
  if (options.inProcess) {
    // The old layout: the client on the same event loop as clawgate and the sandbox.
    const deadline = Date.now() + options.maxMs;
    while (!until() && latencies.length < options.maxCount && Date.now() < deadline) {
      const started = performance.now();
      const answer = await callApi(clawgate.url, 'GET', '/api/v1/workspaces/beta/settings', bearer);
      latencies.push(performance.now() - started);
      if (answer.status !== 200) throw new Error(`beta settings: ${answer.status}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  } else {
    const worker = new Worker(POLLER, {
      eval: true,
      workerData: { url, authorization: bearer, maxCount: options.maxCount, maxMs: options.maxMs },
    });
    const done = new Promise<{ latencies: number[]; failure?: number }>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    const watch = setInterval(() => {
      if (until()) worker.postMessage('stop');
    }, 10);
    try {
      const result = await done;
      if (result.failure !== undefined) throw new Error(`beta settings: ${result.failure}`);
      latencies = result.latencies;
    } finally {
      clearInterval(watch);
      await worker.terminate();
    }
  }
  return { latencies, loopMaxMs: await clawgate.loopStop() };
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const inProcess = process.argv.includes('--in-process');
  const dir = mkdtempSync(path.join(tmpdir(), 'clawgate-bench-'));
  const sandbox = await startSandbox();
  const port = await freePort();
  const threads = Number(process.env.CLAWGATE_VERIFY_THREADS ?? os.availableParallelism());
  const config = {
    CLAWGATE_VERIFY_THREADS: String(threads),
    PORT: String(port),
    APP_BASE_URL: `http://127.0.0.1:${port}`,
    DATABASE_URL: `sqlite:${path.join(dir, 'db.sqlite')}`,
    CLAWGATE_SECRET_KEY: Buffer.alloc(32, 3).toString('hex'),
    CLAWGATE_ALLOWED_HOSTS: new URL(sandbox.baseUrl).host,
  };
  const app = inProcess ? await inProcessClawgate(config, port) : await separateClawgate(config, port);
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
    const baseline = await poll(app, beta, () => false, { maxCount: quick ? 50 : 200, maxMs: 60_000, inProcess });
    const b = baseline.latencies;
    rows.push(
      `| baseline (no junk) | ${b.length} | ${percentile(b, 50).toFixed(1)} | ${percentile(b, 99).toFixed(1)} | ${Math.max(...b).toFixed(1)} | ${baseline.loopMaxMs.toFixed(1)} | | |`,
    );
    for (const [i, junk] of JUNK.entries()) {
      if (quick && i > 0) break;
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
      const { latencies, loopMaxMs } = await poll(app, beta, done, { maxCount: 100_000, maxMs: 120_000, inProcess });
      const status = clawgateStatus(sandbox, head);
      const code = String(status?.description ?? 'none').split(':')[0];
      rows.push(
        `| ${junk.name}, ${(Buffer.byteLength(text) / 1048576).toFixed(1)} MiB | ${latencies.length} | ${percentile(latencies, 50).toFixed(1)} | ${percentile(latencies, 99).toFixed(1)} | ${Math.max(...latencies).toFixed(1)} | ${loopMaxMs.toFixed(1)} | ${String(status?.state ?? 'none')} ${code} | ${((Date.now() - started) / 1000).toFixed(1)} s |`,
      );
    }
  } finally {
    await app.close();
    await sandbox.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const layout = inProcess
    ? 'clawgate, the sandbox and the measuring client on one event loop (`--in-process`)'
    : "clawgate in its own process; the sandbox and the measuring client (a worker thread) in the bench's process";
  const report = [
    "| workspace `acme` is evaluating | `beta` API answers | p50 (ms) | p99 (ms) | max (ms) | longest event-loop stall of clawgate (ms) | `acme`'s status | time to status |",
    '|---|---:|---:|---:|---:|---:|---|---:|',
    ...rows,
    '',
    `Machine: ${os.cpus()[0]?.model ?? 'unknown CPU'} × ${os.cpus().length}, Node ${process.version}, SQLite store, verification pool of ${threads} worker thread(s), ${layout}${quick ? ', `--quick`' : ''}. Date: ${new Date().toISOString().slice(0, 10)}.`,
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
