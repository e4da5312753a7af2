import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { freePort } from '../../../src/server/free-port';

/**
 * N real clawgate processes (`clawgate serve`, from the TypeScript sources through tsx, so a test
 * runs the code of its checkout) on consecutive free loopback ports, sharing one database. Used by
 * the replica tests, the replica benchmark and `npm run cluster`. Each replica's output lines are
 * handed to `onLine` with its index (the cluster prints them tagged); the last lines of each are
 * kept for a failing test's message.
 */

const ROOT = path.resolve(__dirname, '..', '..', '..');
const CLI = path.join(ROOT, 'src', 'cli', 'main.ts');
const KEPT_LINES = 200;

export interface ReplicaSetOptions {
  readonly count: number;
  /** Environment of every replica (DATABASE_URL, APP_BASE_URL, CLAWGATE_SECRET_KEY, …). */
  readonly env: Readonly<Record<string, string>>;
  /** Per-replica additions (e.g. a different CLAWGATE_WORKER_ID is set for each already). */
  readonly envFor?: (index: number) => Readonly<Record<string, string>>;
  readonly onLine?: (index: number, line: string) => void;
  /** How long a replica may take to answer /readyz (default 60 s: tsx compiles on a loaded machine). */
  readonly startTimeoutMs?: number;
}

export interface Replica {
  readonly index: number;
  readonly port: number;
  readonly url: string;
  readonly workerId: string;
  child: ChildProcess;
  alive: boolean;
  readonly lines: string[];
}

async function waitReady(replica: Replica, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!replica.alive)
      throw new Error(`replica ${replica.index} exited while starting:\n${replica.lines.slice(-30).join('\n')}`);
    const ready = await fetch(`${replica.url}/readyz`, { signal: AbortSignal.timeout(2000) }).then(
      (response) => response.ok,
      () => false,
    );
    if (ready) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`replica ${replica.index} not ready after ${timeoutMs} ms:\n${replica.lines.slice(-30).join('\n')}`);
}

export class ReplicaSet {
  readonly replicas: Replica[] = [];

  private constructor(private readonly options: ReplicaSetOptions) {}

  static async start(options: ReplicaSetOptions): Promise<ReplicaSet> {
    const set = new ReplicaSet(options);
    try {
      for (let index = 0; index < options.count; index += 1) {
        const port = await freePort();
        const replica: Replica = {
          index,
          port,
          url: `http://127.0.0.1:${port}`,
          workerId: `replica-${index}`,
          child: undefined as unknown as ChildProcess,
          alive: false,
          lines: [],
        };
        set.replicas.push(replica);
        set.spawn(replica);
      }
      await Promise.all(set.replicas.map((replica) => waitReady(replica, options.startTimeoutMs ?? 60_000)));
    } catch (error) {
      await set.stop();
      throw error;
    }
    return set;
  }

  private spawn(replica: Replica): void {
    const env = {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      ...this.options.env,
      PORT: String(replica.port),
      HOST: '127.0.0.1',
      CLAWGATE_WORKER_ID: replica.workerId,
      ...(this.options.envFor?.(replica.index) ?? {}),
    };
    // Its own process group: a replica is the serve process and the worker processes it forks
    // (docs/operations.md "Roles"), and `kill` takes the whole replica down, as losing its machine would.
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'serve'], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    replica.child = child;
    replica.alive = true;
    child.once('exit', () => {
      if (replica.child === child) replica.alive = false;
    });
    for (const stream of [child.stdout, child.stderr]) {
      if (stream === null) continue;
      createInterface({ input: stream }).on('line', (line) => {
        replica.lines.push(line);
        if (replica.lines.length > KEPT_LINES) replica.lines.shift();
        this.options.onLine?.(replica.index, line);
      });
    }
  }

  /** Every replica that is running. */
  alive(): Replica[] {
    return this.replicas.filter((replica) => replica.alive);
  }

  /**
   * Sends `signal` to the replica's whole process group (SIGKILL: no shutdown code runs in the
   * serve process nor in its forked worker processes) and waits for the serve process to exit.
   */
  async kill(index: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const replica = this.replicas[index];
    if (replica === undefined || !replica.alive) return;
    const exited = new Promise((resolve) => replica.child.once('exit', resolve));
    const pid = replica.child.pid;
    if (signal === 'SIGKILL' && pid !== undefined) process.kill(-pid, signal);
    else replica.child.kill(signal);
    await exited;
  }

  /** Starts a stopped replica again on its port, with its worker id. */
  async restart(index: number): Promise<void> {
    const replica = this.replicas[index];
    if (replica === undefined) throw new Error(`no replica ${index}`);
    if (replica.alive) await this.kill(index, 'SIGTERM');
    this.spawn(replica);
    await waitReady(replica, this.options.startTimeoutMs ?? 60_000);
  }

  /** SIGTERM to all (graceful: drain, release jobs), SIGKILL to any still running after `graceMs`. */
  async stop(graceMs = 15_000): Promise<void> {
    await Promise.all(
      this.alive().map(async (replica) => {
        const exited = new Promise((resolve) => replica.child.once('exit', resolve));
        replica.child.kill('SIGTERM');
        const timer = setTimeout(() => replica.child.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      }),
    );
  }

  /** The last lines of every replica (for a failing test's message). */
  tail(lines = 20): string {
    return this.replicas
      .map(
        (replica) =>
          `--- replica ${replica.index} (${replica.alive ? 'running' : 'stopped'})\n${replica.lines.slice(-lines).join('\n')}`,
      )
      .join('\n');
  }
}
