import { readFileSync } from 'node:fs';
import { verifyCommitSignature } from '../../src/core/clawsig/commit-signature';
import { verifyExportBundle } from '../../src/core/clawsig/verify-export-bundle';
import { evaluate } from '../../src/core/verdict';
import { conformanceGatewayDids, conformanceManifest, vectorPath } from '../shared-data';

const manifest = conformanceManifest();
const nowMs = Date.parse(manifest.generated_at);
const covered = manifest.vectors.filter((v) => v.kind === 'proof_bundle' || v.kind === 'commit_sig');

function allowed(expected: string | string[]): string[] {
  return Array.isArray(expected) ? expected : [expected];
}

describe('conformance manifest (clawsig.md §8)', () => {
  test('covers the 29 proof_bundle and commit_sig vectors', () => {
    expect(covered).toHaveLength(29);
  });

  test.each(covered.map((v) => [v.name, v] as const))('%s', (_name, vector) => {
    const input: unknown = JSON.parse(readFileSync(vectorPath(vector.path), 'utf8'));
    if (vector.kind === 'commit_sig') {
      const result = verifyCommitSignature(input);
      expect(result.valid).toBe(vector.expected.valid);
      expect(allowed(vector.expected.reason_code)).toContain(result.reasonCode);
      return;
    }
    const verdict = evaluate({
      nowMs,
      profile: 'protocol',
      settings: { mode: 'enforce', trustedGateways: conformanceGatewayDids().map((did) => ({ did })), cstIssuers: [] },
      bundle: input,
    });
    expect(verdict.state === 'PASS').toBe(vector.expected.valid);
    expect(allowed(vector.expected.reason_code)).toContain(verdict.reasonCode);
  });

  test('without a trusted gateway, bound receipts cannot be trusted (DEPENDENCY_NOT_CONFIGURED)', () => {
    const pass = covered.find((v) => v.name === 'proof_bundle.pass');
    if (!pass) throw new Error('vector missing');
    const verdict = evaluate({
      nowMs,
      profile: 'protocol',
      settings: { mode: 'enforce', trustedGateways: [], cstIssuers: [] },
      bundle: JSON.parse(readFileSync(vectorPath(pass.path), 'utf8')),
    });
    expect(verdict.reasonCode).toBe('DEPENDENCY_NOT_CONFIGURED');
  });
});

describe('conformance manifest: export bundles (beyond core)', () => {
  const exportVectors = manifest.vectors.filter((v) => v.kind === 'export_bundle');
  const config = JSON.parse(
    readFileSync(
      vectorPath('packages/schema/fixtures/protocol-conformance/clawverify.config.conformance.v1.json'),
      'utf8',
    ),
  ) as {
    allowlists: { gateway_receipt_signer_dids: string[]; derivation_attestation_signer_dids: string[] };
  };

  test('covers the 2 export vectors', () => {
    expect(exportVectors).toHaveLength(2);
  });

  test.each(exportVectors.map((v) => [v.name, v] as const))('%s', (_name, vector) => {
    const file = JSON.parse(readFileSync(vectorPath(vector.path), 'utf8')) as { bundle: unknown };
    const result = verifyExportBundle(file.bundle, {
      nowMs,
      trustedGatewayDids: config.allowlists.gateway_receipt_signer_dids,
      derivationSignerDids: config.allowlists.derivation_attestation_signer_dids,
    });
    expect(result.valid).toBe(vector.expected.valid);
    expect(allowed(vector.expected.reason_code)).toContain(result.reasonCode);
    if (result.valid)
      expect(result.verified).toEqual({ manifestEntries: 2, derivationAttestations: 1, proofBundle: true });
  });

  test('a derivation attestation from a signer outside the allowlist does not verify', () => {
    const golden = exportVectors.find((v) => v.expected.valid);
    const file = JSON.parse(readFileSync(vectorPath(golden?.path ?? ''), 'utf8')) as { bundle: unknown };
    const result = verifyExportBundle(file.bundle, {
      nowMs,
      trustedGatewayDids: config.allowlists.gateway_receipt_signer_dids,
      derivationSignerDids: [],
    });
    expect(result.reasonCode).toBe('CLAIM_NOT_FOUND');
  });
});
