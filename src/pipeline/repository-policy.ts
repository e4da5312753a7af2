import { isJsonObject } from '../core/clawsig/json';
import { compilePicomatchGlob, parseWpcDocument, type EnginePolicy } from '../core/policy';
import type { Mode } from '../core/verdict';
import type { Store } from '../store';

/**
 * Case-insensitive, in linear time. A glob the matcher cannot take (a negated extglob stored before
 * the API refused them) matches every repository: the assignment then binds more, never less.
 */
function repoGlobMatches(glob: string, repoFullName: string): boolean {
  try {
    return compilePicomatchGlob(glob.toLowerCase(), { nocase: false }).test(repoFullName.toLowerCase());
  } catch {
    return true;
  }
}

/** The first assignment whose glob matches the repository's full name wins (list order). */
export async function policyForRepository(
  store: Store,
  workspaceId: string,
  repoFullName: string,
): Promise<{ policy?: EnginePolicy; mode: Mode | null; assigned: boolean }> {
  const assignments = await store.assignments.list(workspaceId);
  const match = assignments.find((a) => repoGlobMatches(a.repoGlob, repoFullName));
  if (!match) return { mode: null, assigned: false };
  const stored = await store.policies.get(workspaceId, match.policyHashB64u);
  if (!stored || stored.retiredAt) return { mode: match.mode, assigned: true };
  const parsed = parseWpcDocument(stored.document);
  // A stored policy that no longer parses, or whose hash moved, is treated as unassigned: fail closed.
  if (!parsed.ok || parsed.policy.policyHashB64u !== stored.policyHashB64u) return { mode: match.mode, assigned: true };
  // A signed policy's envelope was verified against the workspace's WPC issuers when it was uploaded.
  const envelope: unknown = stored.envelopeText === null ? undefined : JSON.parse(stored.envelopeText);
  const signerDid = isJsonObject(envelope) && typeof envelope.signer_did === 'string' ? envelope.signer_did : undefined;
  const { wpc, policyHashB64u, official } = parsed.policy;
  return {
    policy: { wpc, hash: policyHashB64u, official: signerDid === undefined ? official : { ...official, signerDid } },
    mode: match.mode,
    assigned: true,
  };
}
