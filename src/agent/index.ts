/**
 * clawgate's TypeScript API for agent harnesses (docs/agent.md). A harness signs its own proof
 * bundle with its own key — no signing key ever reaches clawgate. These helpers build what clawgate
 * needs inside that signed payload and beside it:
 * - `bitbucketBinding` → `payload.metadata.bitbucket`, which binds the bundle to the PR's work commit;
 * - `trustPulseBinding` → the URM `metadata.trust_pulse` and `outputs[]` entry that bind a Trust Pulse;
 * - `urmReference` → `payload.urm`, which binds the URM to the bundle;
 * - `setProofBundleLine` → the `Proof-Bundle:` line a PR description (or commit message) carries.
 * Import from `clawgate/src/agent` (TypeScript) or `clawgate/dist/agent` (built JavaScript).
 */
export {
  bitbucketBinding,
  withBitbucketBinding,
  type BitbucketBindingInput,
  type BitbucketBindingMetadata,
} from './bitbucket-binding';
export { trustPulseBinding, urmReference, type TrustPulseBinding } from './run-manifest';
export { proofBundleLine, setProofBundleLine } from './proof-bundle-line';
export { runArtifactPaths } from '../core/clawsig/run-artifacts';
export { trustPulseSchema, MAX_TRUST_PULSE_BYTES, type TrustPulse } from '../core/clawsig/trust-pulse';
