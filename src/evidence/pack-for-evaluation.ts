import { decodeJwtClaimsUnverified } from './jwt-claims';
import type { EvaluationRecord, Store } from '../store';
import { clawgateVersion } from './clawgate-version';
import { recordedInputSchema } from './engine-input';
import { signEvidencePack } from './evidence-pack';

export type EvidencePackOutcome =
  | { ok: true; text: string; signerDid: string }
  | { ok: false; code: 'EVIDENCE_UNAVAILABLE'; message: string }
  | { ok: false; code: 'EVIDENCE_TOKEN_LIVE'; message: string; retryAfterSeconds: number };

/**
 * The signed evidence pack of a stored evaluation, or why there is none: evaluations stored before
 * engine inputs were recorded have no pack, and a pack is withheld while a scoped token uploaded
 * beside the bundle (not in its signed metadata) may still be a live credential — the bundle
 * download never answers that token either; the pack can be had once the token has expired.
 */
export async function evidencePackFor(
  store: Pick<Store, 'evidenceKeys'>,
  workspace: { uuid: string; slug: string | null },
  evaluation: EvaluationRecord,
  now: Date,
): Promise<EvidencePackOutcome> {
  if (evaluation.engineInput === null)
    return {
      ok: false,
      code: 'EVIDENCE_UNAVAILABLE',
      message: 'this evaluation was stored before clawgate recorded engine inputs; it has no evidence pack',
    };
  let recorded;
  try {
    recorded = recordedInputSchema.parse(JSON.parse(evaluation.engineInput));
  } catch {
    return {
      ok: false,
      code: 'EVIDENCE_UNAVAILABLE',
      message: 'the recorded engine input of this evaluation is unreadable',
    };
  }
  if (typeof recorded.scoped_token === 'string') {
    const exp = decodeJwtClaimsUnverified(recorded.scoped_token)?.exp;
    const remaining = typeof exp === 'number' ? Math.ceil(exp - now.getTime() / 1000) : 1;
    if (remaining > 0)
      return {
        ok: false,
        code: 'EVIDENCE_TOKEN_LIVE',
        message:
          'the scoped token uploaded with this bundle has not expired yet; its evidence pack is available once it has',
        retryAfterSeconds: Math.min(remaining, 86_400),
      };
  }
  const signer = await store.evidenceKeys.activeSigner();
  const [repoWorkspace] = evaluation.repoFullName.split('/');
  const verdict = evaluation.verdict as { source_branch?: unknown } | null;
  const text = signEvidencePack(
    {
      evaluationId: evaluation.id,
      workspace: { uuid: workspace.uuid, slug: workspace.slug ?? repoWorkspace ?? null },
      repository: evaluation.repoFullName,
      pullRequest: {
        id: evaluation.prId,
        url: evaluation.prUrl,
        sourceBranch: typeof verdict?.source_branch === 'string' ? verdict.source_branch : null,
      },
      headSha: evaluation.headSha,
      commits: Array.isArray(evaluation.commits)
        ? evaluation.commits.filter((c): c is string => typeof c === 'string')
        : [],
      clawgateVersion: clawgateVersion(),
      evaluatedAt: new Date(recorded.now_ms).toISOString(),
      bundle: { id: evaluation.bundleId, sha256B64u: evaluation.bundleSha256B64u, source: evaluation.bundleSource },
      policyHashB64u: evaluation.policyHashB64u,
      engineInput: recorded,
      verdict: evaluation.verdict,
    },
    signer,
    now.toISOString(),
  );
  return { ok: true, text, signerDid: signer.did };
}
