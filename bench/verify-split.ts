/**
 * Benchmark (issue 15's ask): a 1,000-receipt bundle verified through the verification pool with two
 * worker threads (src/verification: the evaluating worker runs the whole engine while a checker
 * takes the envelope checks, payload hash and Ed25519, from the last receipt backwards, shared
 * through a SharedArrayBuffer), against the single-thread floor: the 1,002 Ed25519 verifications the
 * bundle needs, with Node's crypto on one thread. Wall time per bundle as the pipeline sees it
 * (structured clone to and from the workers included). Interleaved runs, medians. `--write` records
 * the table in bench/RESULTS.md; `--quick` takes 11 runs instead of 31.
 *
 * Wall time on a busy machine says little (a second worker has no second core to run on), so the
 * CPU time of each thread of this process is also read (Linux `/proc/self/task/<tid>/stat`, in clock
 * ticks of 10 ms; summed over the runs of a phase that runs only the two-worker pool, then divided):
 * it shows how the work was shared between the two workers whatever the load.
 */
import { createPublicKey, sign, verify } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { verifyAndEvaluate } from '../src/core/verdict';
import type { JsonObject } from '../src/core/clawsig/json';
import { createTestKey, makeScenario, scenarioEvaluationInput, signEnvelope } from '../src/testkit';
import { createVerifier } from '../src/verification';
import { writeResultsSection } from './results-file';

const RECEIPTS = 1000;
/** `--quick`: 11 interleaved runs instead of 31. */
const RUNS = process.argv.includes('--quick') ? 11 : 31;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

function floorFor(verifications: number): () => void {
  const key = createTestKey();
  const publicKey = createPublicKey(key.privateKey);
  const messages = Array.from({ length: verifications }, (_, i) =>
    Buffer.from(`payload-hash-${i}-xxxxxxxxxxxxxxxxxxxxxxxxxxxxx`),
  );
  const signatures = messages.map((m) => sign(null, m, key.privateKey));
  return () => {
    for (let i = 0; i < verifications; i++)
      if (!verify(null, messages[i] as Buffer, publicKey, signatures[i] as Buffer))
        throw new Error('floor verify failed');
  };
}

/** Clock ticks per second of /proc's utime and stime (USER_HZ: 100 on Linux). */
const USER_HZ = 100;

/** CPU ms (user + system) of each thread of this process, by thread id; empty where /proc is not Linux's. */
function threadCpuMs(): Map<string, number> {
  const out = new Map<string, number>();
  let tids: string[];
  try {
    tids = readdirSync('/proc/self/task');
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      // Fields after "(comm) ": state is field 3, utime 14 and stime 15 of the whole line.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(tid, ((Number(fields[11]) + Number(fields[12])) * 1000) / USER_HZ);
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return out;
}

/** CPU ms per run of each thread that did work while `runs` calls of `work` ran, busiest first. */
async function cpuPerRun(runs: number, work: () => Promise<unknown>): Promise<{ main: number; others: number[] }> {
  const before = threadCpuMs();
  for (let i = 0; i < runs; i++) await work();
  const after = threadCpuMs();
  const main = String(process.pid);
  const delta = (tid: string) => ((after.get(tid) ?? 0) - (before.get(tid) ?? 0)) / runs;
  const others = [...after.keys()]
    .filter((tid) => tid !== main)
    .map(delta)
    .filter((ms) => ms > 0)
    .sort((a, b) => b - a);
  return { main: delta(main), others };
}

async function main(): Promise<void> {
  const commit = 'c'.repeat(40);
  const nowMs = Date.UTC(2026, 10, 25, 13, 0, 0);
  const scenario = makeScenario({
    workspace: 'acme',
    repoSlug: 'proj-web',
    commit,
    receipts: RECEIPTS,
    startMs: nowMs - 3_600_000,
  });
  const { bundle, ...input } = scenarioEvaluationInput(scenario, {
    workspace: 'acme',
    repoSlug: 'proj-web',
    workCommit: commit,
    nowMs,
  });
  const bundleText = JSON.stringify(bundle);
  const task = { input, bundleText };
  // What a hostile agent can make the split cost: the last receipt (the checker's first) forged, the
  // bundle re-signed, so the evaluating worker must run the engine a second time.
  const forgedEnvelope = JSON.parse(bundleText) as {
    payload: JsonObject & { receipts: JsonObject[] };
    issued_at: string;
  };
  const receipts = forgedEnvelope.payload.receipts;
  const [firstReceipt] = receipts;
  const lastReceipt = receipts.at(-1);
  if (!firstReceipt || !lastReceipt) throw new Error('no receipts');
  lastReceipt.signature_b64u = firstReceipt.signature_b64u;
  const forged = {
    input,
    bundleText: JSON.stringify(
      signEnvelope('proof_bundle', forgedEnvelope.payload, scenario.agent, { issuedAt: forgedEnvelope.issued_at }),
    ),
  };
  const floor = floorFor(RECEIPTS + 2);
  const results: Record<string, { one: number[]; two: number[]; forged: number[]; floor: number[] }> = {};
  const cpu: Record<'floor' | 'one' | 'two', { main: number; others: number[] }> = {
    floor: { main: 0, others: [] },
    one: { main: 0, others: [] },
    two: { main: 0, others: [] },
  };
  const single = createVerifier({ threads: 1 });
  const pair = createVerifier({ threads: 2 });
  try {
    for (const verifier of [single, pair])
      for (let i = 0; i < 5; i++)
        if ((await verifier.evaluate(task)).state !== 'PASS') throw new Error('benchmark bundle does not pass');
    if ((await verifyAndEvaluate({ ...input, bundle })).state !== 'PASS')
      throw new Error('benchmark bundle does not pass inline');
    const forgedVerdict = await verifyAndEvaluate({ ...input, bundle: JSON.parse(forged.bundleText) });
    if (forgedVerdict.state !== 'FAIL' || JSON.stringify(await pair.evaluate(forged)) !== JSON.stringify(forgedVerdict))
      throw new Error('the forged bundle does not get its single-thread verdict');
    const samples = { one: [] as number[], two: [] as number[], forged: [] as number[], floor: [] as number[] };
    for (let i = 0; i < RUNS; i++) {
      let started = performance.now();
      await single.evaluate(task);
      samples.one.push(performance.now() - started);
      started = performance.now();
      await pair.evaluate(task);
      samples.two.push(performance.now() - started);
      started = performance.now();
      await pair.evaluate(forged);
      samples.forged.push(performance.now() - started);
      started = performance.now();
      floor();
      samples.floor.push(performance.now() - started);
    }
    results[String(RECEIPTS)] = samples;
    cpu.floor = await cpuPerRun(RUNS, async () => floor());
    cpu.one = await cpuPerRun(RUNS, () => single.evaluate(task));
    cpu.two = await cpuPerRun(RUNS, () => pair.evaluate(task));
  } finally {
    await single.close();
    await pair.close();
  }
  const s = results[String(RECEIPTS)];
  if (!s) throw new Error('no samples');
  const floorMs = median(s.floor);
  const report = [
    '| 1,000-receipt bundle, full clawgate profile | runs | median wall time (ms) | ratio to the floor |',
    '|---|---:|---:|---:|',
    `| floor: 1,002 Ed25519 verifications on one thread | ${RUNS} | ${floorMs.toFixed(1)} | 1.00× |`,
    `| verification pool, 1 worker | ${RUNS} | ${median(s.one).toFixed(1)} | ${(median(s.one) / floorMs).toFixed(2)}× |`,
    `| verification pool, 2 workers (split) | ${RUNS} | ${median(s.two).toFixed(1)} | ${(median(s.two) / floorMs).toFixed(2)}× |`,
    `| verification pool, 2 workers, last receipt forged (FAIL; the engine runs twice) | ${RUNS} | ${median(s.forged).toFixed(1)} | ${(median(s.forged) / floorMs).toFixed(2)}× |`,
    '',
    '| CPU time per bundle by thread (ms; /proc, 10 ms ticks summed over the runs) | main thread | busiest other thread | second | the rest |',
    '|---|---:|---:|---:|---:|',
    ...(['floor', 'one', 'two'] as const).map((k) => {
      const [first = 0, second = 0, ...rest] = cpu[k].others;
      const label = {
        floor: 'floor (runs on the main thread)',
        one: 'verification pool, 1 worker',
        two: 'verification pool, 2 workers (split)',
      }[k];
      return `| ${label} | ${cpu[k].main.toFixed(1)} | ${first.toFixed(1)} | ${second.toFixed(1)} | ${rest
        .reduce((a, b) => a + b, 0)
        .toFixed(1)} |`;
    }),
    '',
    `Machine: ${os.cpus()[0]?.model ?? 'unknown CPU'} × ${os.cpus().length}, Node ${process.version}, load average at the end ${os
      .loadavg()
      .map((n) => n.toFixed(2))
      .join(' / ')}. Date: ${new Date().toISOString().slice(0, 10)}.`,
    '',
  ].join('\n');
  process.stdout.write(report);
  if (process.argv.includes('--write'))
    writeResultsSection(
      '<!-- verify-split -->',
      'A 1,000-receipt bundle across two workers vs the Ed25519 floor (`npm run bench:split`)',
      report,
    );
}

void main();
