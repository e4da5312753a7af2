import { startSandbox } from './start-sandbox';
import type { BitbucketSandbox } from './sandbox';

/**
 * Entry for `clawgate sandbox`: starts an empty sandbox, prints its base URL and keeps running
 * until SIGINT/SIGTERM. The CLI passes already-parsed options.
 */
export interface SandboxCommandOptions {
  port?: number;
  host?: string;
  /** Close and exit on SIGINT/SIGTERM (default true; tests turn it off). */
  handleSignals?: boolean;
}

export async function runSandboxCommand(
  options: SandboxCommandOptions = {},
  print: (line: string) => void = (l) => console.log(l),
): Promise<BitbucketSandbox> {
  const startOptions: { port?: number; host?: string } = {};
  if (options.port !== undefined) startOptions.port = options.port;
  if (options.host !== undefined) startOptions.host = options.host;
  const sandbox = await startSandbox(startOptions);
  print(sandbox.baseUrl);
  if (options.handleSignals !== false) {
    const stop = (): void => {
      void sandbox.close().finally(() => process.exit(0));
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  }
  return sandbox;
}

if (require.main === module) {
  const portArg = process.argv.indexOf('--port');
  const hostArg = process.argv.indexOf('--host');
  const port = portArg > -1 ? Number(process.argv[portArg + 1]) : undefined;
  const host = hostArg > -1 ? process.argv[hostArg + 1] : undefined;
  runSandboxCommand({ port, host }).catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(2);
  });
}
