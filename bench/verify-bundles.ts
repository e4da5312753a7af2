/**
 * Benchmark: verify proof bundles with 10, 100 and 1,000 gateway receipts (the full clawgate profile:
 * protocol + strict layer + profile + WPC), and in the same run the floor: as many Ed25519
 * verifications with Node's crypto as the bundle needs (one per receipt plus the bundle's own, plus
 * the CST). Reports medians and the ratio to the floor. Run with `npm run bench`; add `--write` to
 * record the results in bench/RESULTS.md, `--quick` for a tenth of the runs (a smoke run: its
 * medians are noisier). The engine is timed as every caller runs it: `verifyAndEvaluate`, the CST's
 * signature verified with jose (asynchronous) and then the synchronous engine.
 */
import { createPublicKey, sign, verify } from 'node:crypto';
import { writeFileSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { verifyAndEvaluate, type EvaluationInput } from '../src/core/verdict';
import { createTestKey, makeScenario, scenarioEvaluationInput } from '../src/testkit';

const SIZES = [10, 100, 1000];

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

const QUICK = process.argv.includes('--quick');

async function time(fn: () => unknown, iterations: number): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const start = process.hrtime.bigint();
    await fn();
    samples.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return samples;
}

function inputFor(receipts: number): EvaluationInput {
  const commit = 'a'.repeat(40);
  const s = makeScenario({ workspace: 'acme', repoSlug: 'proj-web', commit, receipts });
  const input = scenarioEvaluationInput(s, {
    workspace: 'acme',
    repoSlug: 'proj-web',
    workCommit: commit,
    nowMs: Date.UTC(2026, 10, 25, 13, 0, 0),
  });
  // A parsed copy, as the pipeline hands the engine (no shared references with the producer).
  return { ...input, bundle: JSON.parse(JSON.stringify(input.bundle)) as unknown };
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

async function main(): Promise<void> {
  const rows: {
    receipts: number;
    verifications: number;
    bundleBytes: number;
    medianMs: number;
    floorMs: number;
    ratio: number;
    runs: number;
  }[] = [];
  for (const receipts of SIZES) {
    const input = inputFor(receipts);
    const verdict = await verifyAndEvaluate(input);
    if (verdict.state !== 'PASS') throw new Error(`benchmark bundle does not pass: ${verdict.reasonCode}`);
    const verifications = receipts + 2; // receipts + bundle + CST
    const fullRuns = receipts >= 1000 ? 31 : receipts >= 100 ? 101 : 301;
    const runs = QUICK ? Math.max(5, Math.ceil(fullRuns / 10)) : fullRuns;
    const floor = floorFor(verifications);
    await time(() => verifyAndEvaluate(input), 5);
    await time(floor, 5);
    // Interleave so both see the same machine state.
    const engine: number[] = [];
    const base: number[] = [];
    for (let i = 0; i < runs; i++) {
      engine.push(...(await time(() => verifyAndEvaluate(input), 1)));
      base.push(...(await time(floor, 1)));
    }
    const medianMs = median(engine);
    const floorMs = median(base);
    rows.push({
      receipts,
      verifications,
      bundleBytes: Buffer.byteLength(JSON.stringify(input.bundle)),
      medianMs,
      floorMs,
      ratio: medianMs / floorMs,
      runs,
    });
  }
  const header = `| gateway receipts | Ed25519 verifications | bundle bytes | runs | clawgate median (ms) | floor median (ms) | ratio |\n|---:|---:|---:|---:|---:|---:|---:|`;
  const table = rows
    .map(
      (r) =>
        `| ${r.receipts} | ${r.verifications} | ${r.bundleBytes} | ${r.runs} | ${r.medianMs.toFixed(3)} | ${r.floorMs.toFixed(3)} | ${r.ratio.toFixed(2)}× |`,
    )
    .join('\n');
  const machine = `${os.cpus()[0]?.model ?? 'unknown CPU'} × ${os.cpus().length}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.platform()} ${os.release()}`;
  const report = `${header}\n${table}\n\nMachine: ${machine}. Node ${process.version}.${QUICK ? ' Quick run (a tenth of the runs).' : ''} Date: ${new Date().toISOString().slice(0, 10)}.\n`;
  process.stdout.write(report);
  if (process.argv.includes('--write')) {
    const file = path.join(__dirname, 'RESULTS.md');
    const existing = readFileSync(file, 'utf8');
    const marker = '<!-- verify-bundles -->';
    const [before, , after] = existing.split(marker);
    writeFileSync(file, `${before ?? ''}${marker}\n${report}${marker}${after ?? ''}`);
  }
}

void main();
