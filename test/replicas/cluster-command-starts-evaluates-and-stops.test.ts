import { spawn } from 'node:child_process';
import path from 'node:path';

/**
 * `npm run cluster` (scripts/cluster.ts): starts PostgreSQL, two replicas behind the round-robin
 * proxy and the sandbox, evaluates the demo PR, and on Ctrl-C (SIGINT) stops everything: the
 * command exits 0 and no replica process is left running.
 */
const ROOT = path.resolve(__dirname, '..', '..');

function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('npm run cluster starts two replicas, evaluates a PR, and Ctrl-C stops everything', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/cluster.ts', '--replicas', '2', '--prs', '1'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    const deadline = Date.now() + 150_000;
    while (!/\[cluster\] PR #1: \w+/.test(output)) {
      if (Date.now() > deadline || child.exitCode !== null)
        throw new Error(`no verdict from the cluster:\n${output.slice(-4000)}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(output).toContain('[cluster] PR #1: SUCCESSFUL (expected SUCCESSFUL)');
    expect(output).toMatch(/\[cluster\] clawgate +http:\/\/127\.0\.0\.1:\d+/);
    expect(output).toMatch(/\[replica-0\] /);
    expect(output).toMatch(/\[replica-1\] /);
    const pids = [...output.matchAll(/replica-\d +http:\/\/127\.0\.0\.1:\d+ \(worker id replica-\d, pid (\d+)\)/g)].map(
      (match) => Number(match[1]),
    );
    expect(pids).toHaveLength(2);
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(output).toContain('[cluster] stopped');
    expect(pids.filter(running)).toEqual([]);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
}, 200_000);
