import { ConfigError, loadAppConfig, type AppConfig } from '../config/app-config';
import type { CliIo } from './io';
import { withStore } from './workspace-command';

export const EVIDENCE_KEY_USAGE = `Usage:
  clawgate evidence-key list
  clawgate evidence-key rotate

list    Lists the deployment's evidence-pack signing keys (did:key), active and retired, as the
        service serves them at /api/v1/evidence-keys. Creates the first key if there is none.
rotate  Retires the active key and creates a new one. Retired keys stay listed and keep
        verifying the packs they signed; new packs are signed by the new key.
Private keys are stored sealed by CLAWGATE_SECRET_KEY and are never printed.
Configuration from the environment, as for "clawgate serve" (DATABASE_URL, CLAWGATE_SECRET_KEY).
`;

export async function runEvidenceKey(argv: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = argv;
  if (
    sub === undefined ||
    sub === '--help' ||
    sub === '-h' ||
    rest.length > 0 ||
    (sub !== 'list' && sub !== 'rotate')
  ) {
    (sub === '--help' || sub === '-h' ? io.stdout : io.stderr)(EVIDENCE_KEY_USAGE);
    return sub === '--help' || sub === '-h' ? 0 : 2;
  }
  let config: AppConfig;
  try {
    config = loadAppConfig(io.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      io.stderr(`clawgate evidence-key: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  return withStore(config, io, async (store) => {
    if (sub === 'rotate') {
      const key = await store.evidenceKeys.rotate();
      io.stdout(`rotated: new evidence-signing key ${key.did}\n`);
    } else if ((await store.evidenceKeys.list()).length === 0) await store.evidenceKeys.activeSigner();
    for (const key of await store.evidenceKeys.list())
      io.stdout(
        `${key.did}  ${key.retiredAt ? `retired ${key.retiredAt.toISOString()}` : 'active'}  created ${key.createdAt.toISOString()}\n`,
      );
    return 0;
  });
}
