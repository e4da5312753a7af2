/**
 * Child process for the crash test: starts a queue whose handler writes a marker line and then
 * hangs forever, so the parent can SIGKILL the process mid-handler.
 * Usage: node --import tsx crash-worker.ts <table|pg-boss> <database url> <marker file> <job name>
 */
import fs from 'node:fs';
import { PgBossJobQueue, TableJobQueue, type JobQueue } from '../../../src/queue';
import { openStore } from '../../../src/store';

async function main(): Promise<void> {
  const [backend, url, marker, name] = process.argv.slice(2) as [string, string, string, string];
  let queue: JobQueue;
  if (backend === 'table') {
    const store = await openStore(url, { secretKey: Buffer.alloc(32, 7) });
    queue = new TableJobQueue(store.jobs, { workerId: 'crash-worker', pollIntervalMs: 20, leaseMs: 60_000 });
  } else {
    queue = new PgBossJobQueue({
      connectionString: url,
      pollIntervalMs: 500,
      retryDelaySeconds: 0,
      expireInSeconds: 2,
    });
  }
  await queue.start({
    [name]: async (job) => {
      fs.appendFileSync(marker, `started ${job.id} attempt=${job.attempt}\n`);
      await new Promise<never>(() => undefined);
    },
  });
  // Queue timers are unref'd; keep the process alive until it is killed.
  setInterval(() => undefined, 60_000);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
