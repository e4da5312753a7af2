import { z } from 'zod';

/**
 * Response schemas at the edge (Bitbucket Cloud OpenAPI, `components.schemas.*`). Loose objects:
 * the fields clawgate reads are required and typed, everything else passes through untouched, so a
 * new field from Bitbucket never breaks us but a missing or mistyped one we rely on always does.
 */

const fullCommitHash = z.string().regex(/^[0-9a-f]{40}$/, 'expected a full 40-hex commit hash');
/** PR payloads carry 12-char abbreviations (webhook and GET pull request; statuses carry 40). */
const commitHashOrPrefix = z.string().regex(/^[0-9a-f]{7,40}$/, 'expected a hex commit hash');
const link = z.looseObject({ href: z.string() });

/** `account` / `user` as embedded in other objects. */
export const accountSchema = z.looseObject({
  uuid: z.string(),
  account_id: z.string().optional(),
  display_name: z.string().optional(),
});
export type BitbucketAccount = z.infer<typeof accountSchema>;

/** The pull request author: `display_name` is read for rendering. */
const pullRequestAuthorSchema = accountSchema.extend({ display_name: z.string() });

const pullRequestEndpointSchema = z.looseObject({
  branch: z.looseObject({ name: z.string() }),
  commit: z.looseObject({ hash: commitHashOrPrefix }),
  repository: z.looseObject({ full_name: z.string() }),
});

const participantSchema = z.looseObject({
  approved: z.boolean(),
  user: accountSchema,
  /** When the participant last acted (approved); ISO 8601. Approvals count only after the head's push. */
  participated_on: z.string().max(64).nullish(),
});

export const pullRequestSchema = z.looseObject({
  id: z.number().int().positive(),
  title: z.string(),
  // Bitbucket sends "" for an empty description; null is tolerated and normalised.
  description: z
    .string()
    .nullish()
    .transform((value) => value ?? ''),
  state: z.enum(['OPEN', 'MERGED', 'DECLINED', 'SUPERSEDED']),
  author: pullRequestAuthorSchema,
  source: pullRequestEndpointSchema,
  destination: pullRequestEndpointSchema,
  // `diffstat`: the repository diffstat with this PR's spec (what `…/pullrequests/{id}/diffstat`
  // redirects to); read directly it saves the redirect's call. Unusable → the redirect is followed.
  links: z.looseObject({ html: link, diffstat: link.optional().catch(undefined) }),
  // Absent in some captured responses (jenkins api_get_pullrequest.json): no participants yet.
  participants: z.array(participantSchema).default([]),
});
export type BitbucketPullRequest = z.infer<typeof pullRequestSchema>;

/** An item of `…/pullrequests/{id}/commits` (iterator-paginated, full hashes). */
export const commitListItemSchema = z.looseObject({
  hash: fullCommitHash,
  parents: z.array(z.looseObject({ hash: fullCommitHash })),
  author: z.looseObject({
    raw: z.string().optional(),
    // Absent (or null) when the git author matches no Bitbucket account.
    user: accountSchema.nullish(),
  }),
  message: z.string(),
  date: z.string(),
});
export type BitbucketCommitListItem = z.infer<typeof commitListItemSchema>;

/** `GET …/commit/{commit}`: we read the resolved hash only. */
export const commitSchema = z.looseObject({ hash: fullCommitHash });
export type BitbucketCommit = z.infer<typeof commitSchema>;

const commitFileSchema = z.looseObject({ path: z.string().min(1) });

/** Spec enum plus the conflict statuses seen on merge/topic diffs (as atlassian-python-api handles them). */
export const DIFFSTAT_STATUSES = [
  'added',
  'removed',
  'modified',
  'renamed',
  'local deleted',
  'remote deleted',
  'merge conflict',
  'rename conflict',
  'rename/delete conflict',
  'subrepo conflict',
] as const;

export const diffstatItemSchema = z.looseObject({
  status: z.enum(DIFFSTAT_STATUSES),
  lines_added: z.number().int().nonnegative().optional(),
  lines_removed: z.number().int().nonnegative().optional(),
  old: commitFileSchema.nullable(),
  new: commitFileSchema.nullable(),
});
export type BitbucketDiffstatItem = z.infer<typeof diffstatItemSchema>;

export const BUILD_STATES = ['SUCCESSFUL', 'FAILED', 'INPROGRESS', 'STOPPED'] as const;
export type BuildState = (typeof BUILD_STATES)[number];

export const commitStatusSchema = z.looseObject({
  key: z.string(),
  state: z.enum(BUILD_STATES),
  name: z.string().nullish(),
  url: z.string().nullish(),
  description: z.string().nullish(),
  refname: z.string().nullish(),
});
export type BitbucketCommitStatus = z.infer<typeof commitStatusSchema>;

export const REPORT_TYPES = ['SECURITY', 'COVERAGE', 'TEST', 'BUG'] as const;
export const REPORT_RESULTS = ['PASSED', 'FAILED', 'PENDING'] as const;

export const reportSchema = z.looseObject({
  uuid: z.string().optional(),
  external_id: z.string().optional(),
  result: z.enum(REPORT_RESULTS).optional(),
});
export type BitbucketReport = z.infer<typeof reportSchema>;

export const annotationSchema = z.looseObject({
  uuid: z.string().optional(),
  external_id: z.string().optional(),
});
export type BitbucketAnnotation = z.infer<typeof annotationSchema>;
/** Bulk POST answers with the created annotations as a bare array. */
export const annotationListSchema = z.array(annotationSchema);

export const branchRestrictionSchema = z.looseObject({
  id: z.number().int(),
  // A string, not the spec enum: a restriction kind added by Bitbucket must not break listing.
  kind: z.string(),
  branch_match_kind: z.string().optional(),
  pattern: z.string().nullish(),
  branch_type: z.string().nullish(),
  value: z.number().int().nullish(),
});
export type BitbucketBranchRestriction = z.infer<typeof branchRestrictionSchema>;

export const pullRequestCommentSchema = z.looseObject({
  id: z.number().int(),
  content: z.looseObject({ raw: z.string() }).optional(),
});
export type BitbucketPullRequestComment = z.infer<typeof pullRequestCommentSchema>;

export const webhookSubscriptionSchema = z.looseObject({
  uuid: z.string(),
  url: z.string(),
  active: z.boolean(),
  events: z.array(z.string()),
  description: z.string().nullish(),
  subject_type: z.string().optional(),
});
export type BitbucketWebhookSubscription = z.infer<typeof webhookSubscriptionSchema>;

export const workspaceSchema = z.looseObject({
  uuid: z.string(),
  slug: z.string(),
  name: z.string(),
});
export type BitbucketWorkspace = z.infer<typeof workspaceSchema>;

/** `GET …/repositories/{ws}/{slug}`: the main branch is read (absent on an empty repository). */
export const repositorySchema = z.looseObject({
  full_name: z.string(),
  mainbranch: z.looseObject({ name: z.string().min(1) }).nullish(),
});
export type BitbucketRepository = z.infer<typeof repositorySchema>;

export const currentUserSchema = accountSchema;
export type BitbucketCurrentUser = z.infer<typeof currentUserSchema>;

/** The paginated wrapper: only `values` and `next` are guaranteed (Bitbucket's pagination docs). */
export function pageSchema<Item extends z.ZodType>(item: Item) {
  return z.looseObject({
    values: z.array(item),
    next: z.string().optional(),
  });
}
