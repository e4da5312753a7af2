/**
 * Benchmark (issues 9 and 15): Bitbucket API calls per evaluation, counted at the sandbox (every
 * request under `/2.0/repositories/*` between opening the PR and its final clawgate status, the
 * bucket Bitbucket limits to 1,000/h per installation). PRs of 1, 50 and 500 files, each with a
 * few commits (work commits, then the bundle commit), `--runs` PRs per size (default 5; `--quick`: 2).
 * Call counts are not timing: they are exact on a busy machine. `--write` records the table in
 * bench/RESULTS.md; `--label X` names the row set (e.g. `main` vs `budget`).
 */
import os from 'node:os';
import { startSandbox } from '../src/sandbox';
import { writeResultsSection } from './results-file';
import { finalStatus, prepareWorkspace, startTestClawgate } from '../test/e2e/harness';
import { makeScenario } from '../src/testkit';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

const PUSH_JOB_CALL = /^\/2\.0\/repositories\/[^/]+\/[^/]+(\/branch-restrictions)?$/;

/** Waits until the sandbox has seen no request for 400 ms (bounded: 30 s). */
async function quiet(sandbox: { received: { requests: unknown[] } }): Promise<void> {
  const deadline = Date.now() + 30_000;
  let seen = -1;
  while (Date.now() < deadline && seen !== sandbox.received.requests.length) {
    seen = sandbox.received.requests.length;
    await new Promise((resolve) => setTimeout(resolve, 400));
  }
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const runs = Number(arg('--runs') ?? (quick ? 2 : 5));
  const label = arg('--label') ?? 'this branch';
  const sizes = [1, 50, 500];
  const workCommits = 3;
  const sandbox = await startSandbox();
  const app = await startTestClawgate(sandbox);
  const rows: string[] = [];
  try {
    const ws = await prepareWorkspace(sandbox, app.url, { mode: 'enforce' });
    let n = 0;
    for (const size of sizes) {
      const counts: number[] = [];
      const byKind = new Map<string, number>();
      for (let run = 0; run < runs; run++) {
        const branch = `agent/calls-${size}-${run}-${n++}`;
        // The files spread over `workCommits` commits; the last work commit is attested.
        let work = '';
        for (let c = 0; c < workCommits; c++) {
          const files: Record<string, string> = {};
          for (let f = c; f < size; f += workCommits)
            files[`src/gen/${branch.replace(/\W/g, '_')}/f${f}.ts`] = `export const v${f} = ${run};\n`;
          if (Object.keys(files).length === 0)
            files[`src/gen/${branch.replace(/\W/g, '_')}/touch${c}.ts`] = `export const t = ${c};\n`;
          work = sandbox.commit('acme/proj-web', {
            branch,
            author: 'claw-bot',
            message: `agent work ${c}`,
            files,
          }).hash;
        }
        const s = makeScenario({
          workspace: 'acme',
          repoSlug: 'proj-web',
          commit: work,
          wpc: ws.wpc,
          startMs: Date.now() - 60_000,
          ...ws.keys,
        });
        const head = sandbox.commit('acme/proj-web', {
          branch,
          author: 'claw-bot',
          message: 'proof bundle',
          files: { '.clawsig/proof_bundle.json': JSON.stringify(s.bundle.envelope) },
        }).hash;
        // The pushes' own jobs (incident checks) finish first: only the evaluation's calls are counted.
        await quiet(sandbox);
        const from = sandbox.received.requests.length;
        sandbox.openPullRequest('acme/proj-web', {
          source: branch,
          author: 'claw-bot',
          title: branch,
          description: `Proof-Bundle: ${s.bundle.bundleId}`,
        });
        const status = await finalStatus(sandbox, head, 120_000);
        // Let the last writes of the job (report, annotations) land.
        await quiet(sandbox);
        if (status.state !== 'SUCCESSFUL')
          throw new Error(`PR of ${size} files ended ${String(status.state)}: ${String(status.description)}`);
        // The push jobs' incident checks (GET the repository, its branch restrictions) are not the evaluation's.
        const calls = sandbox.received.requests
          .slice(from)
          .filter((r) => r.path.startsWith('/2.0/repositories/') && !PUSH_JOB_CALL.test(r.path.split('?')[0] ?? ''));
        counts.push(calls.length);
        for (const call of calls) {
          const kind = `${call.method} ${
            call.path
              .split('?')[0]
              ?.replace(/\/2\.0\/repositories\/[^/]+\/[^/]+/, '')
              .replace(/[0-9a-f]{12,40}/g, '{sha}')
              .replace(/\/pullrequests\/\d+/, '/pullrequests/{id}')
              .replace(/\/src\/\{sha\}\/.*/, '/src/{sha}/{path}')
              .replace(/\/reports\/[^/]+/, '/reports/{id}') ?? ''
          }`;
          byKind.set(kind, (byKind.get(kind) ?? 0) + 1);
        }
      }
      const kinds = [...byKind.entries()]
        .sort((a, b) => b[1] - a[1])
        .map(([k, v]) => `${k} ×${(v / runs).toFixed(1)}`)
        .join('; ');
      rows.push(
        `| ${label} | ${size} | ${workCommits + 1} | ${runs} | ${median(counts)} | ${Math.max(...counts)} | ${kinds} |`,
      );
      process.stderr.write(`${rows[rows.length - 1]}\n`);
    }
  } finally {
    await app.close();
    await sandbox.close();
  }
  const report = [
    '| build | files | commits | PRs | calls per evaluation (median) | worst | calls per evaluation by kind (mean) |',
    '|---|---:|---:|---:|---:|---:|---|',
    ...rows,
    '',
    `Counted at the sandbox (\`/2.0/repositories/*\`, from opening the PR to its final status). Node ${process.version}, ${os.cpus().length} cores. Date: ${new Date().toISOString().slice(0, 10)}.`,
    '',
  ].join('\n');
  process.stdout.write(report);
  if (process.argv.includes('--write'))
    writeResultsSection('<!-- api-calls -->', 'Bitbucket API calls per evaluation (`npm run bench:calls`)', report);
}

void main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
