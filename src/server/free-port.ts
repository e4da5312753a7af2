import { createServer } from 'node:net';

/**
 * A port that was free on 127.0.0.1 a moment ago. For the demo, tests and benchmarks, which must know
 * clawgate's public URL (APP_BASE_URL) before it listens.
 */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (typeof address !== 'object' || address === null) throw new Error('no port assigned');
  return address.port;
}
