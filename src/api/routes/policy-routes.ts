import { Router, type Request, type Response } from 'express';
import { looksLikeWpcEnvelope } from '../../core/policy';
import type { StoredPolicy } from '../../store';
import { ApiError } from '../../http/http-error';
import { reevaluateAfterChange, type ApiContext } from '../api-context';
import { access, ACCESS, principalOf } from '../../http/authenticate';
import { authorizeEvidenceViewer } from '../evidence-access';
import { jsonBody, jsonBodyOf } from '../../http/json-body';
import { acceptWpcUpload } from '../signed-wpc';

/**
 * `POST /workspaces/{ws}/policies` registers a WPC in any accepted form — the Bitbucket shape or an
 * official Clawsig v1/v2 — bare, or as a signed WPC envelope from one of the workspace's
 * `wpc_issuers`, under its hash, b64u(SHA-256(JCS(document))). Policies are immutable and hash-addressed: uploading the same document again (in any key order or
 * whitespace) answers 200 with the same hash and keeps the first upload. A bare WPC is stored as
 * the exact text received; a signed one as its payload, with the exact envelope text beside it.
 */

/** Far above the WPC's own 64 KiB limit (which answers 422 with a reason); stops absurd bodies early. */
const MAX_POLICY_BODY_BYTES = 1024 * 1024;
const HASH_PATTERN = /^[A-Za-z0-9_-]{43}$/;

function policySummary(policy: StoredPolicy): Record<string, unknown> {
  return {
    policy_hash_b64u: policy.policyHashB64u,
    created_at: policy.createdAt.toISOString(),
    created_by: policy.createdBy,
    signed: policy.envelopeText !== null,
    retired_at: policy.retiredAt?.toISOString() ?? null,
  };
}

export function policyRoutes(context: ApiContext): Router {
  const router = Router({ mergeParams: true });

  router.post(
    '/policies',
    access(ACCESS.administer),
    ...jsonBody({ limit: Math.min(context.config.maxBodyBytes, MAX_POLICY_BODY_BYTES), required: true }),
    async (request: Request, response: Response) => {
      const principal = principalOf(request);
      const body = jsonBodyOf(request);
      if (body === undefined) throw new ApiError(400, 'BODY_REQUIRED', 'this request needs a JSON body');
      // The workspace's WPC issuers are read only for envelopes (a bare WPC needs no signer).
      const signed = looksLikeWpcEnvelope(body.value);
      const wpcIssuers = signed ? (await context.store.settings.get(principal.workspaceId)).settings.wpc_issuers : [];
      const accepted = acceptWpcUpload(body.value, wpcIssuers);
      const policyHashB64u = accepted.policyHashB64u;
      // A bare WPC is kept as the exact text received. For an envelope the text is kept exactly and the
      // payload is re-serialized from the parsed value, which is what its hash covers (JCS).
      const documentText = signed ? JSON.stringify(accepted.document) : body.text;
      const envelopeText: string | null = signed ? body.text : null;
      const { created } = await context.store.policies.create(principal.workspaceId, {
        policyHashB64u,
        documentText,
        envelopeText,
        actor: principal.actor,
      });
      response.setHeader('Location', `${request.baseUrl}/policies/${policyHashB64u}`);
      response.status(created ? 201 : 200).json({ policy_hash_b64u: policyHashB64u, form: accepted.official.form });
    },
  );

  router.get('/policies', access(ACCESS.readWorkspace), async (request: Request, response: Response) => {
    const { workspaceId } = principalOf(request);
    const includeRetired = request.query.include_retired === 'true';
    const policies = await context.store.policies.list(workspaceId, { includeRetired });
    response.json({ policies: policies.map(policySummary) });
  });

  router.get('/policies/:hash', access(ACCESS.readPolicy), async (request: Request, response: Response) => {
    const principal = principalOf(request);
    const hash = request.params.hash;
    if (typeof hash !== 'string' || !HASH_PATTERN.test(hash))
      throw new ApiError(404, 'POLICY_NOT_FOUND', 'this workspace has no policy with that hash');
    // A person: a workspace admin, or a reader of a repository whose evaluation applied it (the details page).
    await authorizeEvidenceViewer(context.store, request, { policyHashB64u: hash });
    const policy = await context.store.policies.get(principal.workspaceId, hash);
    if (policy === null) throw new ApiError(404, 'POLICY_NOT_FOUND', 'this workspace has no policy with that hash');
    if (request.query.format === 'raw') {
      // The document exactly as it was uploaded (the bytes an auditor may want to re-hash).
      response.type('application/json').send(policy.documentText);
      return;
    }
    response.json({
      ...policySummary(policy),
      document: policy.document,
      ...(policy.envelopeText !== null ? { envelope: JSON.parse(policy.envelopeText) as unknown } : {}),
    });
  });

  // Retiring is the only change a policy ever sees. An assigned policy cannot be retired: the
  // assignment would silently stop matching and every agent PR would fail WPC_NOT_ASSIGNED.
  router.post('/policies/:hash/retire', access(ACCESS.administer), async (request: Request, response: Response) => {
    const principal = principalOf(request);
    const hash = request.params.hash;
    if (
      typeof hash !== 'string' ||
      !HASH_PATTERN.test(hash) ||
      (await context.store.policies.get(principal.workspaceId, hash)) === null
    ) {
      throw new ApiError(404, 'POLICY_NOT_FOUND', 'this workspace has no policy with that hash');
    }
    const assigned = (await context.store.assignments.list(principal.workspaceId)).filter(
      (a) => a.policyHashB64u === hash,
    );
    if (assigned.length > 0) {
      throw new ApiError(
        409,
        'POLICY_ASSIGNED',
        'the policy is assigned to repositories; change the assignments first',
        assigned.map((a) => ({ path: 'assignments', message: `assigned to ${a.repoGlob}` })),
      );
    }
    const retired = await context.store.policies.retire(principal.workspaceId, hash, principal.actor);
    if (retired === null) throw new ApiError(404, 'POLICY_NOT_FOUND', 'this workspace has no policy with that hash');
    await reevaluateAfterChange(context, response, principal.workspaceId, 'policy_retired', principal.actor);
    response.json(policySummary(retired));
  });

  return router;
}
