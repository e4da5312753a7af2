import { z } from 'zod';
import type { ChangeSet } from './change-set';
import { WRITE_ACTIONS } from './bitbucket-wpc';

const sha40 = z.string().regex(/^[0-9a-f]{40}$/i, 'must be a 40-hex commit SHA');
const role = z.enum(['read', 'write']);
/** Who wrote or pushed a commit, as the surface classified the account (issue 9). */
const accountClass = z.enum(['agent', 'human', 'unknown']);

/** The `--changes` file: the engine's ChangeSet as JSON, validated at the edge. */
export const changeSetFileSchema = z.strictObject({
  workspace: z.string().min(1).max(200),
  repoSlug: z.string().min(1).max(200),
  repoFullName: z.string().min(3).max(401).optional(),
  action: z.enum(WRITE_ACTIONS).default('create_pr'),
  actor: z.strictObject({
    accountId: z.string().min(1),
    displayName: z.string().optional(),
    agentIdentity: z
      .strictObject({ role, agentDid: z.string().startsWith('did:').optional(), revoked: z.boolean().optional() })
      .optional(),
  }),
  pullRequest: z
    .strictObject({
      id: z.number().int().positive(),
      sourceBranch: z.string().min(1),
      destinationBranch: z.string().min(1),
      headCommit: sha40,
      declaredBundleIds: z.array(z.string().min(1)).max(20).optional(),
      headPushedAtMs: z.number().int().nonnegative().nullable().optional(),
    })
    .optional(),
  tooLarge: z
    .strictObject({ what: z.enum(['commits', 'files', 'pages']), limit: z.number().int().nonnegative() })
    .optional(),
  files: z
    .array(
      z.strictObject({
        status: z.enum(['added', 'modified', 'removed', 'renamed']),
        path: z.string().min(1).max(4096),
        oldPath: z.string().min(1).max(4096).optional(),
        linesAdded: z.number().int().nonnegative().optional(),
        linesRemoved: z.number().int().nonnegative().optional(),
      }),
    )
    .max(100_000)
    .default([]),
  commits: z
    .array(
      z.strictObject({
        hash: sha40,
        paths: z.array(z.string()).optional(),
        authorAccountId: z.string().optional(),
        author: accountClass.optional(),
        pushedBy: accountClass.optional(),
        agentAccountIds: z.array(z.string().min(1)).max(100).optional(),
      }),
    )
    .max(10_000)
    .default([]),
  approvals: z
    .array(
      z.strictObject({
        accountId: z.string().min(1),
        isAgentIdentity: z.boolean(),
        atMs: z.number().int().nonnegative().optional(),
      }),
    )
    .default([]),
  agentIdentities: z
    .array(z.strictObject({ accountId: z.string().min(1), role, agentDid: z.string().optional() }))
    .optional(),
});

export type ChangeSetFileIssue = { path: string; message: string };

export function parseChangeSetFile(
  input: unknown,
): { ok: true; change: ChangeSet } | { ok: false; issues: ChangeSetFileIssue[] } {
  const parsed = changeSetFileSchema.safeParse(input);
  if (!parsed.success) {
    return {
      ok: false,
      issues: parsed.error.issues.map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message })),
    };
  }
  const value = parsed.data;
  const change: ChangeSet = { ...value, repoFullName: value.repoFullName ?? `${value.workspace}/${value.repoSlug}` };
  return { ok: true, change };
}
