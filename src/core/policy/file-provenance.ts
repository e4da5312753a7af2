import type { ChangeSet, FileStatus } from './change-set';
import { repoPathKey } from './repo-path';

export type Provenance = 'attested' | 'changed_after_attestation' | 'unattested';

export interface FileProvenance {
  path: string;
  oldPath?: string;
  status: FileStatus;
  provenance: Provenance;
}

/**
 * Which changed files the agent's bundle vouches for (docs/policy.md). Commits are oldest first; those up
 * to and including the attested work commit are attested; a file touched by any later commit is
 * `changed_after_attestation` (judged as a human change). Fails closed: a later commit whose paths
 * are unknown taints every file; no attested commit, or one that is not in the PR, leaves every file
 * `unattested`. Paths compare normalised and case-insensitively, so a spelling cannot launder a file.
 */
export function fileProvenance(change: ChangeSet, attestedCommit: string | undefined): FileProvenance[] {
  const describe = (file: ChangeSet['files'][number], provenance: Provenance): FileProvenance =>
    file.oldPath === undefined
      ? { path: file.path, status: file.status, provenance }
      : { path: file.path, oldPath: file.oldPath, status: file.status, provenance };

  const attestedIndex =
    attestedCommit === undefined
      ? -1
      : change.commits.findIndex((c) => c.hash.toLowerCase() === attestedCommit.toLowerCase());
  if (attestedIndex < 0) return change.files.map((f) => describe(f, 'unattested'));

  const later = change.commits.slice(attestedIndex + 1);
  if (later.some((c) => c.paths === undefined))
    return change.files.map((f) => describe(f, 'changed_after_attestation'));

  const touchedLater = new Set(later.flatMap((c) => c.paths ?? []).map(repoPathKey));
  return change.files.map((file) => {
    const sides = file.oldPath === undefined ? [file.path] : [file.path, file.oldPath];
    return describe(
      file,
      sides.some((p) => touchedLater.has(repoPathKey(p))) ? 'changed_after_attestation' : 'attested',
    );
  });
}
