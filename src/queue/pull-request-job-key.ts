import type { EnqueueOptions } from './job-queue';

/**
 * One evaluation job per (workspace, repo, PR, head sha) (docs/architecture.md §1–§2). The key dedupes
 * redelivered or repeated events for the same head; the supersede group (same PR, any head) lets
 * a push drop the queued evaluation of the previous head. "Newer" means "enqueued later": the
 * pipeline should still compare the job's head with the PR's current head before publishing.
 */
export interface PullRequestRef {
  readonly workspaceId: string;
  readonly repoFullName: string;
  readonly prId: number;
  readonly headSha: string;
}

export function pullRequestJobKey(ref: PullRequestRef): Required<Pick<EnqueueOptions, 'key' | 'supersedes'>> {
  const group = `${ref.workspaceId}/${ref.repoFullName}#${ref.prId}`;
  return { key: `${group}@${ref.headSha}`, supersedes: group };
}
