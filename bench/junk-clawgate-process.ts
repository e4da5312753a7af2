/**
 * clawgate alone in a process of its own, for bench/junk-bundle-latency.ts: the bench process keeps
 * the sandbox (which stands in for Bitbucket, another machine in production) and the measuring
 * client, so their work is not counted against clawgate's event loop. Driven over IPC (fork):
 * `{ config }` in → `{ url }` out; `'loop-start'` / `'loop-stop'` → `{ loopMaxMs }` (the longest
 * event-loop stall of THIS process over that window); `'close'` closes the server and exits.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import pino from 'pino';
import { loadAppConfig } from '../src/config/app-config';
import { startClawgate, type ClawgateServer } from '../src/server/create-server';

type Message = { config: Record<string, string>; port: number } | 'loop-start' | 'loop-stop' | 'close';

let app: ClawgateServer | undefined;
let histogram: IntervalHistogram | undefined;

function send(message: unknown): void {
  process.send?.(message);
}

process.on('message', (message: Message) => {
  void (async () => {
    if (message === 'loop-start') {
      histogram = monitorEventLoopDelay({ resolution: 5 });
      histogram.enable();
      send('loop-started');
    } else if (message === 'loop-stop') {
      histogram?.disable();
      send({ loopMaxMs: (histogram?.max ?? 0) / 1e6 });
    } else if (message === 'close') {
      await app?.close();
      process.exit(0);
    } else {
      app = await startClawgate({
        config: loadAppConfig(message.config),
        port: message.port,
        logger: pino({ level: 'silent' }),
        pollIntervalMs: 20,
        env: {},
      });
      send({ url: app.url });
    }
  })().catch((error: unknown) => {
    process.stderr.write(
      `clawgate process: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  });
});
