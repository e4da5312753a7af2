/**
 * Where a run's URM and Trust Pulse sit beside its bundle in a PR (issue 12). Harnesses write
 * `run_<id>-bundle.json` with `run_<id>-urm.json` and `run_<id>-trust-pulse.json` beside it; for the
 * clawgate paths the same suffixes apply (`.clawsig/bundles/<id>-urm.json`), and the single-bundle
 * path `.clawsig/proof_bundle.json` has `.clawsig/urm.json` and `.clawsig/trust_pulse.json`. Pure.
 */
export function runArtifactPaths(bundlePath: string): { urm: string; trustPulse: string } {
  if (bundlePath === '.clawsig/proof_bundle.json')
    return { urm: '.clawsig/urm.json', trustPulse: '.clawsig/trust_pulse.json' };
  const stem = bundlePath.replace(/\.json$/i, '').replace(/-bundle$/, '');
  return { urm: `${stem}-urm.json`, trustPulse: `${stem}-trust-pulse.json` };
}

/** The PR files that may carry an uploaded bundle's URM and pulse. */
export function uploadedRunArtifactPaths(bundleId: string): { urm: string; trustPulse: string } {
  return runArtifactPaths(`.clawsig/bundles/${bundleId}.json`);
}
