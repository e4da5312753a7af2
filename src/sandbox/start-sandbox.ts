import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildApiApp } from './api-app';
import { BitbucketSandbox, type SandboxOptions } from './sandbox';

/**
 * Starts a sandbox on `host:port` (default 127.0.0.1, any free port). Its `baseUrl` is both the
 * install payload's `baseUrl` and `baseApiUrl` (clients call `${baseUrl}/2.0/…`).
 */
export async function startSandbox(options: SandboxOptions = {}): Promise<BitbucketSandbox> {
  const host = options.host ?? '127.0.0.1';
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  const sandbox = new BitbucketSandbox(`http://${urlHost}:${port}`, options);
  server.on('request', buildApiApp(sandbox));
  sandbox.attachServer(server);
  return sandbox;
}
