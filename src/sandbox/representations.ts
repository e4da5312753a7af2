import { formatCommitDate, formatObjectTimestamp } from './bitbucket-time';
import type {
  AppIdentity,
  Annotation,
  BranchRestriction,
  Commit,
  CommitStatus,
  PullRequest,
  PullRequestComment,
  Report,
  Repository,
  RepositoryHook,
  User,
  Workspace,
} from './model';

/**
 * Builds the JSON objects the REST API returns and webhooks carry, in the shapes of the captured
 * payloads in shared/bitbucket-fixtures (field sets and nesting copied from them). Every link
 * points at the sandbox's own base URL instead of api.bitbucket.org / bitbucket.org.
 */

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

const SHORT_HASH_LENGTH = 12;

function link(href: string): JsonObject {
  return { href };
}

function enc(uuidOrName: string): string {
  return encodeURIComponent(uuidOrName);
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A minimal markdown rendering (paragraphs only); enough for the `html` fields' shape. */
function renderMarkdown(raw: string): string {
  if (raw.trim() === '') return '';
  return raw
    .split(/\r?\n\r?\n/)
    .filter((p) => p.trim() !== '')
    .map((p) => `<p>${escapeHtml(p.trim())}</p>`)
    .join('\n');
}

export function rendered(raw: string): JsonObject {
  return { type: 'rendered', raw, markup: 'markdown', html: renderMarkdown(raw) };
}

export class Representations {
  constructor(private readonly base: string) {}

  api(path: string): string {
    return `${this.base}/2.0${path}`;
  }

  html(path: string): string {
    return `${this.base}${path}`;
  }

  repoApi(repo: Repository, path = ''): string {
    return this.api(`/repositories/${repo.fullName}${path}`);
  }

  user(user: User): JsonObject {
    return {
      display_name: user.displayName,
      links: {
        self: link(this.api(`/users/${enc(user.uuid)}`)),
        avatar: link(this.html(`/account/${enc(user.uuid)}/avatar/`)),
        html: link(this.html(`/${enc(user.uuid)}/`)),
      },
      type: 'user',
      uuid: user.uuid,
      account_id: user.accountId,
      nickname: user.nickname,
    };
  }

  /** The team account that owns a workspace (`owner`, install `principal`). */
  team(ws: Workspace): JsonObject {
    return {
      display_name: ws.name,
      links: {
        avatar: link(this.html(`/account/${ws.slug}/avatar/`)),
        html: link(this.html(`/${enc(ws.uuid)}/`)),
        self: link(this.api(`/workspaces/${enc(ws.uuid)}`)),
      },
      type: 'team',
      username: ws.slug,
      uuid: ws.uuid,
    };
  }

  /** How an app or access token appears as `actor`/`user` (spec schema `app_user`). */
  appUser(identity: AppIdentity): JsonObject {
    return {
      display_name: identity.displayName,
      links: {
        self: link(this.api(`/users/${enc(identity.uuid)}`)),
        avatar: link(this.html(`/account/${enc(identity.uuid)}/avatar/`)),
        html: link(this.html(`/${enc(identity.uuid)}/`)),
      },
      type: 'app_user',
      uuid: identity.uuid,
      account_id: identity.accountId,
      account_status: 'active',
      kind: identity.kind,
    };
  }

  workspaceSummary(ws: Workspace): JsonObject {
    return {
      type: 'workspace',
      uuid: ws.uuid,
      name: ws.name,
      slug: ws.slug,
      links: {
        avatar: link(this.html(`/workspaces/${ws.slug}/avatar/`)),
        html: link(this.html(`/${ws.slug}/`)),
        self: link(this.api(`/workspaces/${ws.slug}`)),
      },
    };
  }

  workspace(ws: Workspace): JsonObject {
    return {
      ...this.workspaceSummary(ws),
      is_private: true,
      created_on: formatObjectTimestamp(ws.createdOn),
      forking_mode: 'allow_forks',
    };
  }

  repositoryLinks(repo: Repository): JsonObject {
    return {
      self: link(this.repoApi(repo)),
      html: link(this.html(`/${repo.fullName}`)),
      avatar: link(this.html(`/ravatar/${enc(repo.uuid)}?ts=default`)),
    };
  }

  /** The short repository object inside PR endpoints and statuses. */
  repositorySummary(repo: Repository): JsonObject {
    return {
      type: 'repository',
      full_name: repo.fullName,
      links: this.repositoryLinks(repo),
      name: repo.name,
      uuid: repo.uuid,
    };
  }

  /** The full repository object of webhook payloads (jenkins-bbs/pullrequest_created.json). */
  repository(repo: Repository): JsonObject {
    return {
      type: 'repository',
      full_name: repo.fullName,
      links: this.repositoryLinks(repo),
      name: repo.name,
      scm: 'git',
      website: null,
      owner: this.team(repo.workspace),
      workspace: this.workspaceSummary(repo.workspace),
      is_private: repo.isPrivate,
      project: {
        type: 'project',
        key: repo.project.key,
        uuid: repo.project.uuid,
        name: repo.project.name,
        links: {
          self: link(this.api(`/workspaces/${repo.workspace.slug}/projects/${repo.project.key}`)),
          html: link(this.html(`/${repo.workspace.slug}/workspace/projects/${repo.project.key}`)),
          avatar: link(this.html(`/${repo.workspace.slug}/workspace/projects/${repo.project.key}/avatar/32`)),
        },
      },
      uuid: repo.uuid,
      parent: null,
    };
  }

  /** GET /repositories/{ws}/{slug}: the webhook shape plus the REST-only fields. */
  repositoryDetail(repo: Repository): JsonObject {
    return {
      ...this.repository(repo),
      description: '',
      created_on: formatObjectTimestamp(repo.createdOn),
      updated_on: formatObjectTimestamp(repo.updatedOn),
      size: 0,
      language: '',
      has_issues: false,
      has_wiki: false,
      fork_policy: 'no_public_forks',
      mainbranch: { type: 'branch', name: repo.mainBranch },
    };
  }

  commitRefLinks(repo: Repository, hash: string): JsonObject {
    return {
      self: link(this.repoApi(repo, `/commit/${hash}`)),
      html: link(this.html(`/${repo.fullName}/commits/${hash}`)),
    };
  }

  /** `{hash, type, links}` — 12 characters inside pull requests, 40 in parents/statuses. */
  commitRef(repo: Repository, hash: string, short = false): JsonObject {
    const h = short ? hash.slice(0, SHORT_HASH_LENGTH) : hash;
    return { hash: h, type: 'commit', links: this.commitRefLinks(repo, h) };
  }

  commitAuthor(commit: Commit): JsonObject {
    const author: JsonObject = { type: 'author', raw: commit.author.raw };
    if (commit.author.user) author.user = this.user(commit.author.user);
    return author;
  }

  /** A full commit (GET …/commit/{hash}, PR commits, push `target`/`commits`). */
  commit(repo: Repository, commit: Commit, withRepository = true): JsonObject {
    const h = commit.hash;
    const out: JsonObject = {
      type: 'commit',
      hash: h,
      date: formatCommitDate(commit.date),
      author: this.commitAuthor(commit),
      message: commit.message,
      summary: rendered(commit.message),
      links: {
        self: link(this.repoApi(repo, `/commit/${h}`)),
        html: link(this.html(`/${repo.fullName}/commits/${h}`)),
        diff: link(this.repoApi(repo, `/diff/${h}`)),
        approve: link(this.repoApi(repo, `/commit/${h}/approve`)),
        comments: link(this.repoApi(repo, `/commit/${h}/comments`)),
        statuses: link(this.repoApi(repo, `/commit/${h}/statuses`)),
        patch: link(this.repoApi(repo, `/patch/${h}`)),
      },
      parents: commit.parents.map((p) => this.commitRef(repo, p)),
      rendered: {},
      properties: {},
    };
    if (withRepository) out.repository = this.repositorySummary(repo);
    return out;
  }

  branchLinks(repo: Repository, name: string): JsonObject {
    return {
      commits: link(this.repoApi(repo, `/commits/${name}`)),
      self: link(this.repoApi(repo, `/refs/branches/${name}`)),
      html: link(this.html(`/${repo.fullName}/branch/${name}`)),
    };
  }

  /** A branch ref (push `old`/`new`, GET refs/branches/{name}). */
  branch(repo: Repository, name: string, head: Commit): JsonObject {
    return {
      name,
      links: this.branchLinks(repo, name),
      default_merge_strategy: 'merge_commit',
      merge_strategies: ['merge_commit', 'squash', 'fast_forward'],
      type: 'branch',
      target: this.commit(repo, head, false),
    };
  }

  pullRequestLinks(repo: Repository, pr: PullRequest, sourceHash: string, destinationHash: string): JsonObject {
    const p = `/pullrequests/${pr.id}`;
    const spec = `${repo.fullName}:${sourceHash.slice(0, SHORT_HASH_LENGTH)}%0D${destinationHash.slice(0, SHORT_HASH_LENGTH)}`;
    return {
      activity: link(this.repoApi(repo, `${p}/activity`)),
      approve: link(this.repoApi(repo, `${p}/approve`)),
      comments: link(this.repoApi(repo, `${p}/comments`)),
      commits: link(this.repoApi(repo, `${p}/commits`)),
      decline: link(this.repoApi(repo, `${p}/decline`)),
      diff: link(this.repoApi(repo, `/diff/${spec}?from_pullrequest_id=${pr.id}&topic=true`)),
      diffstat: link(this.repoApi(repo, `/diffstat/${spec}?from_pullrequest_id=${pr.id}&topic=true`)),
      html: link(this.html(`/${repo.fullName}/pull-requests/${pr.id}`)),
      merge: link(this.repoApi(repo, `${p}/merge`)),
      'request-changes': link(this.repoApi(repo, `${p}/request-changes`)),
      self: link(this.repoApi(repo, p)),
      statuses: link(this.repoApi(repo, `${p}/statuses`)),
    };
  }

  participant(p: PullRequest['participants'][number]): JsonObject {
    const out: JsonObject = {
      type: 'participant',
      user: this.user(p.user),
      role: p.role,
      approved: p.approved,
      state: p.state,
    };
    // A reviewer who has not acted yet has no participation time; the spec types it as a string,
    // so the field is left out rather than null.
    if (p.participatedOn !== null) out.participated_on = formatObjectTimestamp(p.participatedOn);
    return out;
  }

  /** A pull request with 12-character commit hashes, as GET and webhooks return it. */
  pullRequest(repo: Repository, pr: PullRequest, sourceHash: string, destinationHash: string): JsonObject {
    return {
      author: this.user(pr.author),
      close_source_branch: pr.closeSourceBranch,
      closed_by: pr.closedBy ? this.user(pr.closedBy) : null,
      comment_count: pr.comments.length,
      created_on: formatObjectTimestamp(pr.createdOn),
      description: pr.description,
      destination: {
        branch: { name: pr.destinationBranch },
        commit: this.commitRef(repo, destinationHash, true),
        repository: this.repositorySummary(repo),
      },
      draft: pr.draft,
      id: pr.id,
      links: this.pullRequestLinks(repo, pr, sourceHash, destinationHash),
      merge_commit: pr.mergeCommit ? this.commitRef(repo, pr.mergeCommit, true) : null,
      participants: pr.participants.map((p) => this.participant(p)),
      reason: pr.reason,
      rendered: { description: rendered(pr.description), title: rendered(pr.title) },
      reviewers: pr.reviewers.map((u) => this.user(u)),
      source: {
        branch: { links: {}, name: pr.sourceBranch, sync_strategies: ['merge_commit', 'rebase'] },
        commit: this.commitRef(repo, sourceHash, true),
        repository: this.repositorySummary(repo),
      },
      state: pr.state,
      summary: rendered(pr.description),
      task_count: 0,
      title: pr.title,
      type: 'pullrequest',
      updated_on: formatObjectTimestamp(pr.updatedOn),
    };
  }

  /** The short PR object a comment points back to. */
  pullRequestSummary(repo: Repository, pr: PullRequest): JsonObject {
    return {
      type: 'pullrequest',
      id: pr.id,
      title: pr.title,
      links: {
        self: link(this.repoApi(repo, `/pullrequests/${pr.id}`)),
        html: link(this.html(`/${repo.fullName}/pull-requests/${pr.id}`)),
      },
    };
  }

  comment(repo: Repository, pr: PullRequest, c: PullRequestComment): JsonObject {
    const self = this.repoApi(repo, `/pullrequests/${pr.id}/comments/${c.id}`);
    const out: JsonObject = {
      id: c.id,
      created_on: formatObjectTimestamp(c.createdOn),
      updated_on: formatObjectTimestamp(c.updatedOn),
      content: { raw: c.raw, markup: 'markdown', html: renderMarkdown(c.raw) },
      user: c.user ? this.user(c.user) : c.appAuthor ? this.appUser(c.appAuthor) : null,
      deleted: false,
      pending: c.pending,
      type: 'pullrequest_comment',
      links: {
        self: link(self),
        html: link(this.html(`/${repo.fullName}/pull-requests/${pr.id}/_/diff#comment-${c.id}`)),
      },
      pullrequest: this.pullRequestSummary(repo, pr),
    };
    if (c.inline) {
      const inline: JsonObject = { path: c.inline.path };
      for (const k of ['from', 'to', 'start_from', 'start_to'] as const) {
        const v = c.inline[k];
        if (v !== undefined) inline[k] = v;
      }
      out.inline = inline;
    }
    if (c.parentId !== null) {
      out.parent = {
        type: 'pullrequest_comment',
        id: c.parentId,
        links: { self: link(this.repoApi(repo, `/pullrequests/${pr.id}/comments/${c.parentId}`)) },
      };
    }
    return out;
  }

  /** A build status (jenkins-bbs/api_commit_status_build.json). */
  commitStatus(repo: Repository, s: CommitStatus): JsonObject {
    return {
      key: s.key,
      type: 'build',
      state: s.state,
      name: s.name,
      refname: s.refname,
      commit: this.commitRef(repo, s.commit),
      url: s.url,
      repository: this.repositorySummary(repo),
      description: s.description,
      created_on: formatObjectTimestamp(s.createdOn),
      updated_on: formatObjectTimestamp(s.updatedOn),
      links: {
        self: link(this.repoApi(repo, `/commit/${s.commit}/statuses/build/${encodeURIComponent(s.key)}`)),
        commit: link(this.repoApi(repo, `/commit/${s.commit}`)),
      },
    };
  }

  /** The status object of repo:commit_status_* webhooks: its `commit` carries author/date/message. */
  commitStatusEvent(repo: Repository, s: CommitStatus, commit: Commit): JsonObject {
    const base = this.commitStatus(repo, s);
    const full = this.commit(repo, commit, false);
    return {
      ...base,
      commit: {
        hash: full.hash ?? null,
        links: full.links ?? null,
        author: full.author ?? null,
        date: full.date ?? null,
        message: full.message ?? null,
        type: 'commit',
      },
    };
  }

  report(repo: Repository, r: Report): JsonObject {
    const out: JsonObject = {
      type: 'report',
      uuid: r.uuid,
      title: r.title,
      external_id: r.externalId,
      data: r.data.map((d) => {
        const item: JsonObject = { title: d.title, value: d.value as Json };
        if (d.type !== undefined) item.type = d.type;
        return item;
      }),
      created_on: formatObjectTimestamp(r.createdOn),
      updated_on: formatObjectTimestamp(r.updatedOn),
      links: { self: link(this.repoApi(repo, `/commit/${r.commit}/reports/${encodeURIComponent(r.externalId)}`)) },
    };
    if (r.details !== null) out.details = r.details;
    if (r.reporter !== null) out.reporter = r.reporter;
    if (r.link !== null) out.link = r.link;
    if (r.logoUrl !== null) out.logo_url = r.logoUrl;
    if (r.remoteLinkEnabled !== null) out.remote_link_enabled = r.remoteLinkEnabled;
    if (r.reportType !== null) out.report_type = r.reportType;
    if (r.result !== null) out.result = r.result;
    return out;
  }

  annotation(a: Annotation): JsonObject {
    const out: JsonObject = {
      type: 'report_annotation',
      uuid: a.uuid,
      external_id: a.externalId,
      summary: a.summary,
      created_on: formatObjectTimestamp(a.createdOn),
      updated_on: formatObjectTimestamp(a.updatedOn),
    };
    if (a.annotationType !== null) out.annotation_type = a.annotationType;
    if (a.path !== null) out.path = a.path;
    if (a.line !== null) out.line = a.line;
    if (a.details !== null) out.details = a.details;
    if (a.result !== null) out.result = a.result;
    if (a.severity !== null) out.severity = a.severity;
    if (a.link !== null) out.link = a.link;
    return out;
  }

  branchRestriction(repo: Repository, r: BranchRestriction): JsonObject {
    const out: JsonObject = {
      type: 'branchrestriction',
      id: r.id,
      kind: r.kind,
      branch_match_kind: r.branchMatchKind,
      pattern: r.pattern,
      users: r.users.map((u) => this.user(u)),
      groups: [],
      links: { self: link(this.repoApi(repo, `/branch-restrictions/${r.id}`)) },
    };
    if (r.branchType !== null) out.branch_type = r.branchType;
    if (r.value !== null) out.value = r.value;
    return out;
  }

  hook(repo: Repository, h: RepositoryHook): JsonObject {
    return {
      type: 'webhook_subscription',
      uuid: h.uuid,
      url: h.url,
      description: h.description,
      subject_type: 'repository',
      subject: this.repositorySummary(repo),
      active: h.active,
      created_at: formatObjectTimestamp(h.createdAt),
      events: [...h.events],
      secret_set: h.secret !== null,
      links: { self: link(this.repoApi(repo, `/hooks/${encodeURIComponent(h.uuid)}`)) },
    };
  }

  diffstatFile(repo: Repository, commit: string, path: string): JsonObject {
    return {
      path,
      type: 'commit_file',
      escaped_path: path,
      links: { self: link(this.repoApi(repo, `/src/${commit}/${path.split('/').map(encodeURIComponent).join('/')}`)) },
    };
  }
}
