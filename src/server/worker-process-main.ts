import os from 'node:os';
import { z } from 'zod';
import type { AppConfig } from '../config/app-config';
import { startClawgate, type ClawgateServer } from './create-server';
import type { WorkerStartMessage } from './worker-processes';

/**
 * Entry of a worker process forked by the `all` role (src/server/worker-processes.ts): waits for its
 * start message, runs the job workers (role `worker`, no periodic work: the parent runs that), and
 * answers wake, metrics and stop messages. Exits when its parent goes away.
 */

const parentMessageSchema = z.union([
  z.object({
    type: z.literal('start'),
    config: z.record(z.string(), z.unknown()),
    workerId: z.string().min(1).max(200),
    pollIntervalMs: z.number().int().positive().optional(),
    clockOffsetMs: z.number().int().optional(),
  }),
  z.object({ type: z.literal('wake'), name: z.string().max(64) }),
  z.object({ type: z.literal('metrics'), id: z.number().int() }),
  z.object({ type: z.literal('stop') }),
]);

let server: ClawgateServer | null = null;
let stopping = false;

async function stop(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    await server?.close().catch(() => undefined);
  }
  process.exit(code);
}

/**
 * Lowers this process's CPU priority before anything else starts: Linux nice values are per thread
 * and threads inherit their creator's, so the verification pool's threads (created later) run at it
 * too. The parent that answers webhooks keeps its priority, so a saturated machine still acks fast.
 */
function lowerPriority(nice: number): void {
  if (nice <= 0) return;
  try {
    os.setPriority(Math.min(19, os.getPriority() + nice));
  } catch {
    // Not permitted here (some containers): the worker runs at the parent's priority.
  }
}

async function start(message: WorkerStartMessage): Promise<void> {
  lowerPriority(message.config.workerNice ?? 10);
  const offset = message.clockOffsetMs;
  server = await startClawgate({
    config: message.config,
    env: { ...process.env, CLAWGATE_WORKER_ID: message.workerId },
    role: 'worker',
    periodicWork: false,
    port: 0,
    host: '127.0.0.1',
    ...(message.pollIntervalMs !== undefined ? { pollIntervalMs: message.pollIntervalMs } : {}),
    ...(offset !== undefined ? { now: () => Date.now() + offset } : {}),
  });
  process.send?.({ type: 'ready' });
}

process.on('message', (raw: unknown) => {
  const parsed = parentMessageSchema.safeParse(raw);
  if (!parsed.success) return;
  const message = parsed.data;
  switch (message.type) {
    case 'start':
      if (server !== null || stopping) return;
      start({ ...message, config: message.config as unknown as AppConfig, type: 'start' }).catch((error: unknown) => {
        process.send?.({ type: 'failed', message: error instanceof Error ? error.message : String(error) });
        void stop(1);
      });
      return;
    case 'wake':
      server?.queue.wake(message.name);
      return;
    case 'metrics':
      void (async () => {
        const metrics = server === null ? [] : await server.metrics.registry.getMetricsAsJSON();
        process.send?.({ type: 'metrics', id: message.id, metrics });
      })();
      return;
    case 'stop':
      void stop(0);
      return;
  }
});
process.on('disconnect', () => void stop(0));
process.on('SIGTERM', () => void stop(0));
process.on('SIGINT', () => undefined);
