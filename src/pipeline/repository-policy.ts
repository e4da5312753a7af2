import picomatch from 'picomatch';
import { parseBitbucketWpc, type BitbucketWpc } from '../core/policy';
import type { Mode } from '../core/verdict';
import type { Store } from '../store';

/** The first assignment whose glob matches the repository's full name wins (list order). */
export async function policyForRepository(store: Store, workspaceId: string, repoFullName: string): Promise<{ policy?: { wpc: BitbucketWpc; hash: string }; mode: Mode | null; assigned: boolean }> {
  const assignments = await store.assignments.list(workspaceId);
  const match = assignments.find((a) => picomatch.isMatch(repoFullName.toLowerCase(), a.repoGlob.toLowerCase(), { dot: true }));
  if (!match) return { mode: null, assigned: false };
  const stored = await store.policies.get(workspaceId, match.policyHashB64u);
  if (!stored || stored.retiredAt) return { mode: match.mode, assigned: true };
  const parsed = parseBitbucketWpc(stored.document);
  // A stored policy that no longer parses, or whose hash moved, is treated as unassigned: fail closed.
  if (!parsed.ok || parsed.policyHashB64u !== stored.policyHashB64u) return { mode: match.mode, assigned: true };
  return { policy: { wpc: parsed.wpc, hash: parsed.policyHashB64u }, mode: match.mode, assigned: true };
}
