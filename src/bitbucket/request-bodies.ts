import { z } from 'zod';
import { BitbucketInputError, type SchemaIssue } from './errors';
import { issuePath } from './response-body';
import { BUILD_STATES, REPORT_RESULTS, REPORT_TYPES } from './schemas';

/**
 * Bodies we send, checked before sending against the limits Bitbucket is known to enforce
 * (status `key` ≤ 40 characters; ≤ 10 report data items, 1–100 annotations per bulk POST), so a bad value fails here with a path instead of as a 400 later.
 * Limits marked UNCONFIRMED in the reference are deliberately not enforced.
 */

/** Commit status `key` over 40 chars is a 400 on Cloud. */
export const BUILD_STATUS_KEY_MAX = 40;
export const REPORT_DATA_MAX = 10;
export const ANNOTATIONS_PER_REQUEST = 100;
export const ANNOTATIONS_PER_REPORT = 1000;

export const buildStatusInputSchema = z.strictObject({
  key: z.string().min(1).max(BUILD_STATUS_KEY_MAX),
  state: z.enum(BUILD_STATES),
  name: z.string().optional(),
  url: z.string().optional(),
  description: z.string().optional(),
  /** The PR source branch: how Bitbucket associates a status with a PR (Bitbucket's OpenAPI spec). */
  refname: z.string().optional(),
});
export type BuildStatusInput = z.input<typeof buildStatusInputSchema>;

const reportDataSchema = z.strictObject({
  title: z.string(),
  type: z.enum(['BOOLEAN', 'DATE', 'DURATION', 'LINK', 'NUMBER', 'PERCENTAGE', 'TEXT']).optional(),
  value: z.union([z.string(), z.number(), z.boolean(), z.strictObject({ text: z.string(), href: z.string() })]),
});

export const reportInputSchema = z.strictObject({
  title: z.string().min(1),
  details: z.string().optional(),
  external_id: z.string().optional(),
  reporter: z.string().optional(),
  link: z.string().optional(),
  logo_url: z.string().optional(),
  remote_link_enabled: z.boolean().optional(),
  report_type: z.enum(REPORT_TYPES).optional(),
  result: z.enum(REPORT_RESULTS).optional(),
  data: z.array(reportDataSchema).max(REPORT_DATA_MAX).optional(),
});
export type ReportInput = z.input<typeof reportInputSchema>;

export const annotationInputSchema = z.strictObject({
  external_id: z.string().min(1),
  annotation_type: z.enum(['VULNERABILITY', 'CODE_SMELL', 'BUG']).optional(),
  path: z.string().optional(),
  line: z.number().int().min(1).optional(),
  /** Required in practice (observed by Code Insights integrations). */
  summary: z.string().min(1),
  details: z.string().optional(),
  result: z.enum(['PASSED', 'FAILED', 'SKIPPED', 'IGNORED']).optional(),
  severity: z.enum(['CRITICAL', 'HIGH', 'MEDIUM', 'LOW']).optional(),
  link: z.string().optional(),
});
export type AnnotationInput = z.input<typeof annotationInputSchema>;

export const branchRestrictionInputSchema = z.strictObject({
  kind: z.string().min(1),
  branch_match_kind: z.enum(['glob', 'branching_model']),
  pattern: z.string().optional(),
  branch_type: z.enum(['feature', 'bugfix', 'release', 'hotfix', 'development', 'production']).optional(),
  value: z.number().int().optional(),
  users: z.array(z.strictObject({ uuid: z.string() })).optional(),
  groups: z.array(z.strictObject({ slug: z.string() })).optional(),
});
export type BranchRestrictionInput = z.input<typeof branchRestrictionInputSchema>;

export const pullRequestCommentInputSchema = z.strictObject({
  /** Markdown. */
  raw: z.string().min(1),
  inline: z
    .strictObject({
      path: z.string().min(1),
      to: z.number().int().min(1).optional(),
      from: z.number().int().min(1).optional(),
    })
    .optional(),
  parentId: z.number().int().positive().optional(),
});
export type PullRequestCommentInput = z.input<typeof pullRequestCommentInputSchema>;

export const hookInputSchema = z.strictObject({
  url: z.url({ protocol: /^https?$/ }),
  description: z.string(),
  events: z.array(z.string().min(1)).min(1),
  active: z.boolean().default(true),
  /** HMAC secret (≤ 128 chars); write-only on Bitbucket's side, never logged on ours. */
  secret: z.string().max(128).optional(),
});
export type HookInput = z.input<typeof hookInputSchema>;

export function validateInput<Schema extends z.ZodType>(
  schema: Schema,
  value: unknown,
  what: string,
): z.output<Schema> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues: SchemaIssue[] = result.error.issues.map((issue) => ({
    path: issuePath(issue.path),
    message: issue.message,
  }));
  const first = issues[0];
  throw new BitbucketInputError(`${what} is invalid${first ? ` at ${first.path || '(root)'}: ${first.message}` : ''}`);
}
