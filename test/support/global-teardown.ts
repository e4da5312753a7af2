import { rm } from 'node:fs/promises';
import { SETUP_STATE_KEY, type EmbeddedServer } from './global-setup';

/** Jest globalTeardown: stops the PostgreSQL that global-setup.ts started and removes its directory. */
export default async function globalTeardown(): Promise<void> {
  const holder = globalThis as unknown as Record<string, { server?: EmbeddedServer; directory?: string } | undefined>;
  const setup = holder[SETUP_STATE_KEY];
  if (setup === undefined) return;
  if (setup.server) await setup.server.stop();
  if (setup.directory) await rm(setup.directory, { recursive: true, force: true });
  holder[SETUP_STATE_KEY] = undefined;
}
