import { fork, type ChildProcess } from 'node:child_process';
import type { Logger } from 'pino';
import type { MetricObjectWithValues, MetricValue } from 'prom-client';
import { z } from 'zod';
import type { AppConfig } from '../config/app-config';

/**
 * The worker processes of the `all` role (docs/operations.md "Roles"): the process that answers
 * webhooks forks N children that run the jobs (gather → engine → publish), so an ack never waits
 * behind an evaluation on the HTTP event loop. Parent and children share only the database (the
 * durable queue) and this IPC channel, which carries:
 * - parent → child: `start` (the parsed config), `wake` (a job was enqueued here: look now; the
 *   table queue has no cross-process notification of its own), `metrics` (send your registry),
 *   `stop`;
 * - child → parent: `ready`, `metrics` (the answer), `failed` (the start threw).
 * A child that exits unexpectedly is forked again after a short delay; its unfinished jobs are
 * reclaimed at once by its successor (same worker id) or by lease expiry. A child whose parent
 * disappears (IPC disconnect) stops itself.
 */

export interface WorkerStartMessage {
  readonly type: 'start';
  readonly config: AppConfig;
  /** CLAWGATE_WORKER_ID of this child (stable across its restarts, unique among its siblings). */
  readonly workerId: string;
  readonly pollIntervalMs?: number;
  /** Verification clock for tests: fixed offset from the real clock, in ms. */
  readonly clockOffsetMs?: number;
}

const metricsAnswerSchema = z.object({
  type: z.literal('metrics'),
  id: z.number().int(),
  metrics: z.array(z.unknown()).max(10_000),
});
const childMessageSchema = z.union([
  z.object({ type: z.literal('ready') }),
  z.object({ type: z.literal('failed'), message: z.string().max(2000) }),
  metricsAnswerSchema,
]);

export interface WorkerProcesses {
  readonly count: number;
  /** Process ids of the live children (operations, tests). */
  pids(): number[];
  /** Tells every child that a job of `name` may be waiting. */
  wake(name: string): void;
  /** Each live child's metrics (prom-client JSON), for aggregation into this process's `/metrics`. */
  metrics(): Promise<MetricObjectWithValues<MetricValue<string>>[][]>;
  close(): Promise<void>;
}

/** Attempts to start a worker process before the serve process gives up. */
const START_ATTEMPTS = 3;
const RESTART_DELAY_MS = 1000;
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 15_000;
const METRICS_TIMEOUT_MS = 2000;

function childEntry(): { filename: string; execArgv: string[] } {
  // Compiled (dist/): the .js beside this file. From the TypeScript sources (tests, tsx): the .ts
  // through tsx's require hook, a development dependency (as src/verification/verifier.ts does).
  if (__filename.endsWith('.ts'))
    return { filename: `${__dirname}/worker-process-main.ts`, execArgv: ['--require', require.resolve('tsx/cjs')] };
  return { filename: `${__dirname}/worker-process-main.js`, execArgv: [] };
}

interface Slot {
  child: ChildProcess | null;
  ready: boolean;
  restart: NodeJS.Timeout | null;
}

export async function forkWorkerProcesses(options: {
  count: number;
  start: (index: number) => WorkerStartMessage;
  logger: Logger;
  env?: NodeJS.ProcessEnv;
}): Promise<WorkerProcesses> {
  const entry = childEntry();
  const slots: Slot[] = [];
  let closing = false;
  let nextMetricsId = 1;
  const pendingMetrics = new Map<number, (metrics: MetricObjectWithValues<MetricValue<string>>[]) => void>();

  const spawn = (index: number): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const slot = slots[index] ?? { child: null, ready: false, restart: null };
      slots[index] = slot;
      const child = fork(entry.filename, [], {
        execArgv: entry.execArgv,
        env: options.env ?? process.env,
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        serialization: 'advanced',
      });
      slot.child = child;
      slot.ready = false;
      let settled = false;
      // A start that failed is retried by the caller, not by the exit handler's restart.
      let startFailed = false;
      const timer = setTimeout(() => {
        if (settled) return;
        settled = true;
        child.kill('SIGKILL');
        reject(new Error(`worker process ${index} did not start within ${START_TIMEOUT_MS} ms`));
      }, START_TIMEOUT_MS);
      timer.unref();
      child.on('message', (raw: unknown) => {
        const parsed = childMessageSchema.safeParse(raw);
        if (!parsed.success) return;
        const message = parsed.data;
        if (message.type === 'ready') {
          slot.ready = true;
          if (!settled) {
            settled = true;
            clearTimeout(timer);
            resolve();
          }
        } else if (message.type === 'failed') {
          options.logger.error({ worker: index, err: message.message }, 'worker process failed to start');
          startFailed = true;
          if (!settled) {
            settled = true;
            clearTimeout(timer);
            reject(new Error(`worker process ${index} failed to start: ${message.message}`));
          }
        } else {
          pendingMetrics.get(message.id)?.(message.metrics as MetricObjectWithValues<MetricValue<string>>[]);
        }
      });
      child.on('exit', (code, signal) => {
        slot.ready = false;
        if (slot.child === child) slot.child = null;
        if (!settled) {
          settled = true;
          clearTimeout(timer);
          reject(new Error(`worker process ${index} exited during start (${signal ?? code})`));
          return;
        }
        if (closing || startFailed) return;
        options.logger.error({ worker: index, code, signal }, 'worker process exited; forking it again');
        slot.restart = setTimeout(() => {
          slot.restart = null;
          if (!closing)
            spawn(index).catch((error: unknown) =>
              options.logger.error(
                { worker: index, err: error instanceof Error ? error.message : String(error) },
                'worker process restart failed',
              ),
            );
        }, RESTART_DELAY_MS);
        slot.restart.unref();
      });
      child.send(options.start(index));
    });

  // A start can fail for a passing reason (PostgreSQL answers "deadlock detected" when several
  // replicas and their workers create pg-boss's schema at once): try again before giving up.
  const spawnWithRetries = async (index: number): Promise<void> => {
    for (let attempt = 1; ; attempt += 1) {
      try {
        await spawn(index);
        return;
      } catch (error) {
        if (attempt >= START_ATTEMPTS || closing) throw error;
        options.logger.warn(
          { worker: index, attempt, err: error instanceof Error ? error.message : String(error) },
          'worker process did not start; trying again',
        );
        await new Promise((resolve) => setTimeout(resolve, RESTART_DELAY_MS * attempt));
      }
    }
  };

  try {
    for (let index = 0; index < options.count; index += 1) await spawnWithRetries(index);
  } catch (error) {
    closing = true;
    for (const slot of slots) slot.child?.kill('SIGKILL');
    throw error;
  }

  const send = (slot: Slot, message: unknown): void => {
    const child = slot.child;
    if (child === null || !slot.ready || !child.connected) return;
    child.send(message as object, (error) => {
      // A child that just died: its successor looks at the queue when it starts.
      if (error) options.logger.debug({ err: error.message }, 'message to worker process not delivered');
    });
  };

  return {
    count: options.count,
    pids() {
      return slots.flatMap((slot) => (slot.ready && slot.child?.pid !== undefined ? [slot.child.pid] : []));
    },
    wake(name) {
      for (const slot of slots) send(slot, { type: 'wake', name });
    },
    async metrics() {
      const answers = slots
        .filter((slot) => slot.ready && slot.child !== null)
        .map(
          (slot) =>
            new Promise<MetricObjectWithValues<MetricValue<string>>[] | null>((resolve) => {
              const id = nextMetricsId++;
              const timer = setTimeout(() => {
                pendingMetrics.delete(id);
                resolve(null);
              }, METRICS_TIMEOUT_MS);
              pendingMetrics.set(id, (metrics) => {
                clearTimeout(timer);
                pendingMetrics.delete(id);
                resolve(metrics);
              });
              send(slot, { type: 'metrics', id });
            }),
        );
      return (await Promise.all(answers)).filter((metrics) => metrics !== null);
    },
    async close() {
      closing = true;
      await Promise.all(
        slots.map(async (slot) => {
          if (slot.restart !== null) clearTimeout(slot.restart);
          const child = slot.child;
          if (child === null || child.exitCode !== null || child.signalCode !== null) return;
          const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
          if (child.connected) child.send({ type: 'stop' });
          else child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
          await exited;
          clearTimeout(timer);
        }),
      );
    },
  };
}
