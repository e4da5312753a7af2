import { formatObjectTimestamp } from './bitbucket-time';
import { commitsBetween } from './commit-graph';
import type { Representations, JsonObject } from './representations';
import type { Repository } from './model';

/**
 * The `repo:push` change object (toolchain-oss/repo_push_pr_merge.json,
 * jenkins-bbs/repo_push_signed_payload.json): old/new branch refs with their head commit,
 * created/closed/forced flags, up to 5 commits (newest first) and `truncated` beyond that.
 */
const MAX_PUSH_COMMITS = 5;

export interface PushChangeInput {
  branch: string;
  oldHead: string | null;
  newHead: string | null;
  forced: boolean;
  /** A PR merge: Bitbucket's captured merge push lists no commits. */
  fromMerge: boolean;
}

export function pushChange(rep: Representations, repo: Repository, input: PushChangeInput): JsonObject {
  const { branch, oldHead, newHead } = input;
  const oldCommit = oldHead ? repo.commits.get(oldHead) : undefined;
  const newCommit = newHead ? repo.commits.get(newHead) : undefined;
  let listed: JsonObject[] = [];
  let truncated = false;
  if (newHead && !input.fromMerge) {
    const range = commitsBetween(repo, newHead, oldHead);
    truncated = range.length > MAX_PUSH_COMMITS;
    listed = range.slice(0, MAX_PUSH_COMMITS).map((c) => rep.commit(repo, c, false));
  }
  const links: JsonObject = {};
  if (newHead && oldHead) {
    links.commits = { href: rep.repoApi(repo, `/commits?include=${newHead}&exclude=${oldHead}`) };
    links.html = { href: rep.html(`/${repo.fullName}/branches/compare/${newHead}..${oldHead}`) };
    links.diff = { href: rep.repoApi(repo, `/diff/${newHead}..${oldHead}`) };
  } else if (newHead) {
    links.commits = { href: rep.repoApi(repo, `/commits?include=${newHead}`) };
    links.html = { href: rep.html(`/${repo.fullName}/branch/${branch}`) };
  } else {
    links.html = { href: rep.html(`/${repo.fullName}/branch/${branch}`) };
  }
  return {
    old: oldCommit ? rep.branch(repo, branch, oldCommit) : null,
    new: newCommit ? rep.branch(repo, branch, newCommit) : null,
    truncated,
    created: oldHead === null,
    forced: input.forced,
    closed: newHead === null,
    links,
    commits: listed,
  };
}

export function approval(rep: Representations, user: Parameters<Representations['user']>[0], at: number): JsonObject {
  return { date: formatObjectTimestamp(at), user: rep.user(user) };
}
