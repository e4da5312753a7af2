/**
 * Real Claw ecosystem artifacts: harness proof bundles with their sibling URMs (the two in
 * ../shared/clawsig/real-world/poh and three more copied from the reference repository's public
 * artifacts/poh, see test/fixtures/real-world/SOURCES.md) and real Protocol-M commit signatures.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { verifyCommitSignature } from '../../../src/core/clawsig/commit-signature';
import { verifyProofBundle } from '../../../src/core/clawsig/verify-proof-bundle';
import { sharedPath } from '../../shared-data';

const NOW = Date.UTC(2026, 11, 7);
const dirs = [
  sharedPath('clawsig', 'real-world', 'poh'),
  path.join(__dirname, '..', '..', 'fixtures', 'real-world', 'poh'),
];
const bundles = dirs.flatMap((dir) =>
  readdirSync(dir)
    .filter((f) => f.endsWith('-bundle.json'))
    .map((f) => path.join(dir, f)),
);
const read = (file: string): unknown => JSON.parse(readFileSync(file, 'utf8'));

describe('real harness bundles verify with their sibling URM (as the reference CLI verifies them)', () => {
  test('five real runs are present', () => {
    expect(bundles).toHaveLength(5);
  });

  test.each(bundles.map((b) => [path.basename(b), b]))('%s', (_name, file) => {
    const urm = read(file.replace(/-bundle\.json$/, '-urm.json'));
    const result = verifyProofBundle(read(file), { nowMs: NOW, trustedGatewayDids: [], urm });
    expect([result.valid, result.reasonCode, result.proofTier]).toEqual([true, 'OK', 'self']);
    expect(result.urm?.runId).toBe(result.bundle?.runId);
    // The same bundle without its manifest fails as in the reference.
    expect(verifyProofBundle(read(file), { nowMs: NOW, trustedGatewayDids: [] }).reasonCode).toBe('URM_MISSING');
  });
});

describe('real Protocol-M commit signatures', () => {
  const dir = sharedPath('clawsig', 'real-world', 'commit-sigs');
  const files = readdirSync(dir).filter((f) => f.endsWith('.commit.sig.json'));

  // One real signature signs the bare hash instead of `commit:<hash>`: the reference's message rule
  // (`commit:<7-64 hex>`, COMMIT_MESSAGE_INVALID) refuses it, and so does clawgate.
  const BARE_HASH_MESSAGE = 'feat__identity__CSC-US-016-018-CVF-US-031-033-key-interop-hardening.commit.sig.json';

  test('twelve real signatures are present', () => {
    expect(files).toHaveLength(12);
  });

  test.each(files.filter((f) => f !== BARE_HASH_MESSAGE))('%s verifies', (file) => {
    const result = verifyCommitSignature(read(path.join(dir, file)));
    expect([result.valid, result.reasonCode]).toEqual([true, 'OK']);
    expect(result.commitSha).toMatch(/^[0-9a-f]{7,64}$/);
  });

  test('the one whose message is a bare hash fails COMMIT_MESSAGE_INVALID, as in the reference', () => {
    expect(verifyCommitSignature(read(path.join(dir, BARE_HASH_MESSAGE))).reasonCode).toBe('COMMIT_MESSAGE_INVALID');
  });
});
