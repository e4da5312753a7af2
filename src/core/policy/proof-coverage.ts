import type { Check } from '../check';
import type { ChangeSet } from './change-set';
import { repoPathKey } from './repo-path';

/**
 * "The proof covers the head" (docs/policy.md §6, issue 9). A bundle attests one work commit; every PR commit
 * after it is a change the bundle does not vouch for. Such a commit fails CHANGED_AFTER_ATTESTATION
 * when an agent identity or an unknown account wrote or pushed it (otherwise an agent could push
 * unattested code after its attested commit), unless it only adds the bundle's own files. A commit a
 * registered human wrote and pushed passes here (its files are shown as changed after attestation and
 * still go through the WPC's path rules). Fails closed: unknown paths or unknown pushers count.
 */

/** The bundle's own files (docs/policy.md §6): the only thing a commit after the attested one may add freely. */
export function isBundleFile(path: string): boolean {
  const key = repoPathKey(path);
  return key === '.clawsig/proof_bundle.json' || /^\.clawsig\/bundles\/[^/]+\.json$/.test(key);
}

/**
 * `ownFiles`: where this bundle and its run artifacts live in the PR when they are not at the
 * `.clawsig/` paths (the harness layout `<stem>-bundle.json` with `-urm.json` and `-trust-pulse.json`,
 * or an uploaded bundle's sidecars): a later commit that only adds them is still the bundle's own.
 */
export function proofCoverageChecks(
  change: ChangeSet,
  attestedCommit: string,
  ownFiles: readonly string[] = [],
): Check[] {
  const own = new Set(ownFiles.map(repoPathKey));
  const isOwn = (path: string): boolean => isBundleFile(path) || own.has(repoPathKey(path));
  const index = change.commits.findIndex((c) => c.hash.toLowerCase() === attestedCommit.toLowerCase());
  if (index < 0) return [];
  const later = change.commits.slice(index + 1);
  const checks: Check[] = [];
  let humanLater = 0;
  for (const commit of later) {
    if (commit.paths !== undefined && commit.paths.length > 0 && commit.paths.every(isOwn)) continue;
    // Surfaces that classify nothing (the CLI's change file) keep the older rule: later changes are
    // judged as human changes (provenance + path rules).
    if (commit.author === undefined && commit.pushedBy === undefined) {
      humanLater += 1;
      continue;
    }
    const suspects = [commit.author, commit.pushedBy].filter((c) => c === 'agent' || c === 'unknown');
    if (suspects.length === 0) {
      humanLater += 1;
      continue;
    }
    checks.push({
      rule: 'profile.proof_covers_head',
      outcome: 'fail',
      code: 'CHANGED_AFTER_ATTESTATION',
      subject: { kind: 'commit', id: commit.hash },
      evidence: {
        attested_commit: attestedCommit,
        author: commit.author ?? null,
        pushed_by: commit.pushedBy ?? null,
        paths: commit.paths === undefined ? null : commit.paths.slice(0, 20),
      },
    });
  }
  if (checks.length > 0) return checks;
  return [
    {
      rule: 'profile.proof_covers_head',
      outcome: 'pass',
      code: 'OK',
      subject: { kind: 'commit', id: attestedCommit },
      evidence: {
        attested_commit: attestedCommit,
        later_commits: later.length,
        human_commits_after_attestation: humanLater,
      },
    },
  ];
}
