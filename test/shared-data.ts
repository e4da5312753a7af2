import { readFileSync } from 'node:fs';
import path from 'node:path';

/** The read-only shared data directory (../shared from the project root). */
export const SHARED_DIR = path.resolve(__dirname, '..', '..', 'shared');

export function sharedPath(...parts: string[]): string {
  return path.join(SHARED_DIR, ...parts);
}

export function readSharedJson(...parts: string[]): unknown {
  return JSON.parse(readFileSync(sharedPath(...parts), 'utf8')) as unknown;
}

export interface ManifestVector {
  name: string;
  kind: string;
  path: string;
  expected: { valid: boolean; reason_code: string | string[] };
}

export function conformanceManifest(): { generated_at: string; vectors: ManifestVector[] } {
  return readSharedJson('clawsig', 'fixtures', 'protocol-conformance', 'manifest.v1.json') as {
    generated_at: string;
    vectors: ManifestVector[];
  };
}

/** Manifest paths are relative to the upstream packages/schema/; the copies live under shared/clawsig/. */
export function vectorPath(manifestPath: string): string {
  return sharedPath('clawsig', manifestPath.replace(/^packages\/schema\//, ''));
}

export function conformanceGatewayDids(): string[] {
  const allowlist = readSharedJson('clawsig', 'fixtures', 'protocol-conformance', 'allowlists.v1.json') as {
    gateway_receipt_signer_dids: string[];
  };
  return allowlist.gateway_receipt_signer_dids;
}
