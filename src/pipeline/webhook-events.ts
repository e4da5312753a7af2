import { z } from 'zod';

/**
 * The parts of Bitbucket webhook payloads the pipeline reads, validated at the edge (loose objects:
 * Bitbucket adds fields freely; only what we read is required).
 */
const user = z.looseObject({
  uuid: z.string().min(1).optional(),
  account_id: z.string().optional(),
  display_name: z.string().optional(),
  nickname: z.string().optional(),
});

export const webhookRepositorySchema = z.looseObject({
  full_name: z.string().regex(/^[^/\s]+\/[^/\s]+$/, 'must be workspace/repo_slug'),
  uuid: z.string().optional(),
  workspace: z.looseObject({ slug: z.string().optional(), uuid: z.string().optional() }).optional(),
});

export const pullRequestEventSchema = z.looseObject({
  repository: webhookRepositorySchema,
  actor: user.optional(),
  pullrequest: z.looseObject({
    id: z.number().int().positive(),
    state: z.string().optional(),
    author: user.optional(),
    source: z.looseObject({
      commit: z
        .looseObject({ hash: z.string().regex(/^[0-9a-f]{7,40}$/i) })
        .nullable()
        .optional(),
    }),
  }),
});

export type PullRequestEvent = z.infer<typeof pullRequestEventSchema>;

/** Events that (re-)evaluate the PR's head. */
export const EVALUATING_EVENTS: ReadonlySet<string> = new Set([
  'pullrequest:created',
  'pullrequest:updated',
  'pullrequest:approved',
  'pullrequest:unapproved',
]);

/** The evaluation job's payload (stored as JSON; validated again when the job runs). */
export const evaluationJobSchema = z.strictObject({
  workspaceId: z.string().min(1),
  clientKey: z.string().min(1),
  repoFullName: z.string().regex(/^[^/\s]+\/[^/\s]+$/),
  prId: z.number().int().positive(),
  /** The head as the event named it (often 12 characters). */
  headHint: z.string().regex(/^[0-9a-f]{7,40}$/i),
  trigger: z.string().min(1),
  deliveryId: z.string().min(1),
  /**
   * Set on a job deferred for API budget (evaluate-pull-request.ts): how often, since when (ms, the
   * pipeline's clock; past the deferral bound the evaluation fails for good), and whether the head is marked.
   */
  deferral: z
    .strictObject({
      count: z.number().int().min(1).max(100_000),
      sinceMs: z.number().int().nonnegative(),
      /** The head carries a status for the wait (INPROGRESS, or FAILED in enforce): the resumed job writes none first. */
      marked: z.boolean(),
    })
    .optional(),
});

export type EvaluationJob = z.infer<typeof evaluationJobSchema>;

export const EVALUATION_JOB = 'evaluate-pull-request';
