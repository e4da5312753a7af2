import { readFileSync } from 'node:fs';
import { verifyCommitSignature } from '../../src/core/clawsig/commit-signature';
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
    const verdict = evaluate({ nowMs, profile: 'protocol', settings: { mode: 'enforce', trustedGateways: conformanceGatewayDids().map((did) => ({ did })), cstIssuers: [] }, bundle: input });
    expect(verdict.state === 'PASS').toBe(vector.expected.valid);
    expect(allowed(vector.expected.reason_code)).toContain(verdict.reasonCode);
  });

  test('without a trusted gateway, bound receipts cannot be trusted (DEPENDENCY_NOT_CONFIGURED)', () => {
    const pass = covered.find((v) => v.name === 'proof_bundle.pass');
    if (!pass) throw new Error('vector missing');
    const verdict = evaluate({ nowMs, profile: 'protocol', settings: { mode: 'enforce', trustedGateways: [], cstIssuers: [] }, bundle: JSON.parse(readFileSync(vectorPath(pass.path), 'utf8')) });
    expect(verdict.reasonCode).toBe('DEPENDENCY_NOT_CONFIGURED');
  });
});
