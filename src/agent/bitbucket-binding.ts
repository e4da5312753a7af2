import { z } from 'zod';

/** What a harness knows when it signs: where the work goes and which commit holds it. */
export interface BitbucketBindingInput {
  workspace: string;
  repoSlug: string;
  /** The full 40-hex SHA of the agent's work commit (not the head that adds the bundle). */
  commit: string;
  branch: string;
}

/** `payload.metadata.bitbucket` exactly as clawgate reads it (docs/clawsig-profile.md). */
export interface BitbucketBindingMetadata {
  bitbucket: { workspace: string; repo_slug: string; commit: string; branch: string };
}

const inputSchema = z.strictObject({
  workspace: z.string().regex(/^[A-Za-z0-9._-]{1,128}$/, 'must be a workspace slug'),
  repoSlug: z.string().regex(/^[A-Za-z0-9._-]{1,128}$/, 'must be a repository slug'),
  commit: z.string().regex(/^[0-9a-f]{40}$/, 'must be the full 40-hex commit SHA (lower case)'),
  branch: z.string().min(1).max(255),
});

/**
 * The signed binding of a bundle to a Bitbucket PR. Throws (with the field) on input clawgate would
 * refuse later anyway — a short SHA, a slug with a slash — so a harness learns before it signs.
 */
export function bitbucketBinding(input: BitbucketBindingInput): BitbucketBindingMetadata {
  const parsed = inputSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new TypeError(`bitbucketBinding: ${issue?.path.join('.') ?? ''} ${issue?.message ?? 'is invalid'}`);
  }
  const { workspace, repoSlug, commit, branch } = parsed.data;
  return { bitbucket: { workspace, repo_slug: repoSlug, commit, branch } };
}

/** `metadata` with the binding added (a copy; an existing `bitbucket` key is replaced). */
export function withBitbucketBinding<T extends Record<string, unknown>>(
  metadata: T | undefined,
  input: BitbucketBindingInput,
): T & BitbucketBindingMetadata {
  return { ...(metadata ?? ({} as T)), ...bitbucketBinding(input) };
}
