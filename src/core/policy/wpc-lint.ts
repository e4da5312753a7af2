import { decodeB64u } from '../clawsig/base64url';
import { publicKeyFromDidKey } from '../clawsig/did-key';
import { verifyEd25519 } from '../clawsig/ed25519';
import { jcsHashB64u } from '../clawsig/hashing';
import { workPolicyContractV1Schema, workPolicyContractV2Schema } from '../clawsig/schemas/work-policy-contract';
import { validateWith } from '../clawsig/schemas/validate-with';
import { formatPath, parseBitbucketWpc, type BitbucketWpc, type WpcIssue } from './bitbucket-wpc';
import { clawsigGlobMatch } from './clawsig-glob';
import { compileDenyGlobs } from './deny-globs';
import { PLACEHOLDER_ISSUER_DID, PLACEHOLDER_REPO } from './wpc-templates';

/**
 * `clawgate wpc check`: which form a WPC document is in, its field-path errors, its hash, and
 * warnings about clauses that are valid but weak or unfinished. Pure. Warnings are codes and data
 * (the words are in src/render/wpc-lint-text.ts); errors are field paths with the validators' own
 * messages, as `parseBitbucketWpc` (the server's validator) gives them, or, for the official forms,
 * the official schemas' zod twins.
 */

export type WpcForm = 'bitbucket' | 'clawsig_v1' | 'clawsig_v2' | 'envelope';

export const WPC_WARNING_CODES = [
  /** No deny glob matches `bitbucket-pipelines.yml` (at the root or below): an agent may edit CI. */
  'PIPELINE_FILE_NOT_DENIED',
  /** `merge_pr` is not denied: the design's premise is that agents never merge. */
  'MERGE_NOT_DENIED',
  /** `direct_push_main` is not denied. */
  'DIRECT_PUSH_NOT_DENIED',
  /** Gateway receipts are not required: model calls are then only the agent's word. */
  'GATEWAY_RECEIPTS_NOT_REQUIRED',
  /** `approval_required` is false: an agent PR can pass without a human's approval. */
  'APPROVAL_NOT_REQUIRED',
  /** The template's placeholder repository is still listed. */
  'PLACEHOLDER_REPO',
  /** The template's placeholder issuer DID is still there. */
  'PLACEHOLDER_ISSUER',
  /** An official form this server's policy upload does not accept (yet). */
  'FORM_NOT_ACCEPTED_BY_SERVER',
  /** An official form with no model restriction (no allowed_providers/allowed_models or model statements). */
  'NO_MODEL_RESTRICTION',
  /** An envelope's signer is not an Ed25519 did:key, so its signature cannot be checked here. */
  'SIGNER_NOT_CHECKABLE',
] as const;
export type WpcWarningCode = (typeof WPC_WARNING_CODES)[number];

export interface WpcWarning {
  readonly code: WpcWarningCode;
  /** The field the warning is about (`formatPath` form), `` for the document. */
  readonly path: string;
  readonly data?: Readonly<Record<string, string>>;
}

export interface WpcLintResult {
  readonly form: WpcForm | null;
  /** Empty when the document is valid in its form. */
  readonly errors: readonly WpcIssue[];
  readonly warnings: readonly WpcWarning[];
  /** b64u(SHA-256(JCS(document))) (of the payload for an envelope); undefined when invalid. */
  readonly policyHashB64u?: string;
  /** The envelope's signer, when the document is an envelope. */
  readonly signerDid?: string;
}

/** The pipeline definition paths that must be denied (root and nested). */
const PIPELINE_PATHS = ['bitbucket-pipelines.yml', 'service/bitbucket-pipelines.yml'];

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function wpcFormOf(document: unknown): WpcForm | null {
  if (!isObject(document)) return null;
  if ('envelope_type' in document || ('payload' in document && 'signature_b64u' in document)) return 'envelope';
  if ('tool' in document || 'policy' in document) return 'bitbucket';
  if (document.policy_version === '1') return 'clawsig_v1';
  if (document.policy_version === '2') return 'clawsig_v2';
  return null;
}

function bitbucketWarnings(wpc: BitbucketWpc, prefix: string): WpcWarning[] {
  const warnings: WpcWarning[] = [];
  const at = (path: string) => (prefix === '' ? path : `${prefix}.${path}`);
  const matcher = compileDenyGlobs(wpc.policy.paths.deny_globs);
  const unguarded = PIPELINE_PATHS.find((path) => matcher.match(path) === undefined);
  if (unguarded !== undefined)
    warnings.push({ code: 'PIPELINE_FILE_NOT_DENIED', path: at('policy.paths.deny_globs'), data: { path: unguarded } });
  if (!wpc.policy.write.deny.includes('merge_pr'))
    warnings.push({ code: 'MERGE_NOT_DENIED', path: at('policy.write.deny') });
  if (!wpc.policy.write.deny.includes('direct_push_main'))
    warnings.push({ code: 'DIRECT_PUSH_NOT_DENIED', path: at('policy.write.deny') });
  if (!wpc.policy.attestation.require_gateway_receipts)
    warnings.push({ code: 'GATEWAY_RECEIPTS_NOT_REQUIRED', path: at('policy.attestation.require_gateway_receipts') });
  if (!wpc.policy.write.approval_required)
    warnings.push({ code: 'APPROVAL_NOT_REQUIRED', path: at('policy.write.approval_required') });
  wpc.policy.repos_allowlist.forEach((repo, index) => {
    if (repo.toUpperCase() === PLACEHOLDER_REPO)
      warnings.push({ code: 'PLACEHOLDER_REPO', path: at(`policy.repos_allowlist[${index}]`) });
  });
  if (wpc.issuer_did === PLACEHOLDER_ISSUER_DID) warnings.push({ code: 'PLACEHOLDER_ISSUER', path: at('issuer_did') });
  return warnings;
}

interface V2Statement {
  readonly effect: string;
  readonly actions: readonly string[];
  readonly resources: readonly string[];
  readonly conditions?: unknown;
}

/** True when an unconditional Deny on filesystem writes covers the pipeline file. */
function v2DeniesPipeline(statements: readonly V2Statement[]): boolean {
  return statements.some(
    (statement) =>
      statement.effect === 'Deny' &&
      statement.conditions === undefined &&
      statement.actions.some((action) => clawsigGlobMatch(action, 'side_effect:filesystem_write')) &&
      PIPELINE_PATHS.every((path) => statement.resources.some((resource) => clawsigGlobMatch(resource, path))),
  );
}

function officialWarnings(
  form: 'clawsig_v1' | 'clawsig_v2',
  document: Record<string, unknown>,
  prefix: string,
): WpcWarning[] {
  const warnings: WpcWarning[] = [];
  const at = (path: string) => (prefix === '' ? path : `${prefix}.${path}`);
  if (document.issuer_did === PLACEHOLDER_ISSUER_DID)
    warnings.push({ code: 'PLACEHOLDER_ISSUER', path: at('issuer_did') });
  const metadata = document.metadata;
  if (isObject(metadata) && Array.isArray(metadata.repositories)) {
    metadata.repositories.forEach((repo, index) => {
      if (typeof repo === 'string' && repo.toUpperCase() === PLACEHOLDER_REPO)
        warnings.push({ code: 'PLACEHOLDER_REPO', path: at(`metadata.repositories[${index}]`) });
    });
  }
  if (form === 'clawsig_v1') {
    if (document.allowed_providers === undefined && document.allowed_models === undefined)
      warnings.push({ code: 'NO_MODEL_RESTRICTION', path: prefix });
  } else {
    const statements = (Array.isArray(document.statements) ? document.statements : []) as V2Statement[];
    if (
      !statements.some(
        (s) =>
          s.effect === 'Allow' &&
          s.conditions !== undefined &&
          s.actions.some((a) => clawsigGlobMatch(a, 'model:invoke')),
      )
    ) {
      warnings.push({ code: 'NO_MODEL_RESTRICTION', path: at('statements') });
    }
    if (!v2DeniesPipeline(statements))
      warnings.push({
        code: 'PIPELINE_FILE_NOT_DENIED',
        path: at('statements'),
        data: { path: PIPELINE_PATHS[0] as string },
      });
  }
  // Accepted once the server's parser takes the official forms (it then stops refusing them here).
  if (!parseBitbucketWpc(document).ok)
    warnings.push({ code: 'FORM_NOT_ACCEPTED_BY_SERVER', path: prefix, data: { form } });
  return warnings;
}

function prefixed(prefix: string, issues: readonly WpcIssue[]): WpcIssue[] {
  if (prefix === '') return [...issues];
  return issues.map((issue) => ({
    path:
      issue.path === '' ? prefix : issue.path.startsWith('[') ? `${prefix}${issue.path}` : `${prefix}.${issue.path}`,
    message: issue.message,
  }));
}

/** Lints a bare WPC (any form); `prefix` is where it sits (`payload` inside an envelope). */
function lintBare(document: unknown, prefix: string): WpcLintResult {
  const form = wpcFormOf(document);
  if (form === null || form === 'envelope' || !isObject(document)) {
    return {
      form,
      errors: prefixed(prefix, [
        {
          path: '',
          message:
            form === 'envelope'
              ? 'an envelope inside an envelope'
              : 'not a WPC: expected "tool" and "policy" (Bitbucket form) or "policy_version" "1" or "2" (Clawsig form)',
        },
      ]),
      warnings: [],
    };
  }
  if (form === 'bitbucket') {
    const parsed = parseBitbucketWpc(document);
    if (!parsed.ok) return { form, errors: prefixed(prefix, parsed.issues), warnings: [] };
    return { form, errors: [], warnings: bitbucketWarnings(parsed.wpc, prefix), policyHashB64u: parsed.policyHashB64u };
  }
  const validation = validateWith(
    form === 'clawsig_v1' ? workPolicyContractV1Schema : workPolicyContractV2Schema,
    document,
  );
  if (!validation.ok) {
    return {
      form,
      errors: prefixed(
        prefix,
        validation.issues.map((issue) => ({ path: formatPath(issue.path), message: issue.message })),
      ),
      warnings: [],
    };
  }
  return {
    form,
    errors: [],
    warnings: officialWarnings(form, document, prefix),
    policyHashB64u: jcsHashB64u(document),
  };
}

/**
 * Lints a WPC document or a signed WPC envelope. For an envelope: the payload is linted, then its
 * hash, issuer and signature are checked as the server checks them (whether the signer is one of a
 * workspace's `wpc_issuers` is for the server to say).
 */
export function lintWpc(document: unknown): WpcLintResult {
  if (wpcFormOf(document) !== 'envelope' || !isObject(document)) return lintBare(document, '');
  const inner = lintBare(document.payload, 'payload');
  const errors: WpcIssue[] = [...inner.errors];
  const warnings: WpcWarning[] = [...inner.warnings];
  const signer = typeof document.signer_did === 'string' ? document.signer_did : undefined;
  for (const [key, expected] of [
    ['envelope_version', '1'],
    ['envelope_type', 'work_policy_contract'],
    ['hash_algorithm', 'SHA-256'],
    ['algorithm', 'Ed25519'],
  ] as const) {
    if (document[key] !== expected) errors.push({ path: key, message: `must be "${expected}"` });
  }
  if (signer === undefined) errors.push({ path: 'signer_did', message: 'required' });
  if (typeof document.issued_at !== 'string') errors.push({ path: 'issued_at', message: 'required' });
  if (inner.policyHashB64u !== undefined) {
    if (document.payload_hash_b64u !== inner.policyHashB64u) {
      errors.push({
        path: 'payload_hash_b64u',
        message: 'is not the JCS SHA-256 hash of the payload (WPC_HASH_INVALID)',
      });
    } else if (signer !== undefined) {
      const payload = document.payload as Record<string, unknown>;
      if (payload.issuer_did !== undefined && payload.issuer_did !== signer)
        errors.push({ path: 'payload.issuer_did', message: 'is not the envelope signer (WPC_ISSUER_MISMATCH)' });
      const publicKey = publicKeyFromDidKey(signer);
      const signature = typeof document.signature_b64u === 'string' ? decodeB64u(document.signature_b64u) : null;
      if (publicKey === null) warnings.push({ code: 'SIGNER_NOT_CHECKABLE', path: 'signer_did' });
      else if (
        signature === null ||
        signature.length !== 64 ||
        !verifyEd25519(publicKey, inner.policyHashB64u, signature)
      )
        errors.push({ path: 'signature_b64u', message: 'does not verify with the signer key (WPC_SIGNATURE_INVALID)' });
    }
  }
  const result: WpcLintResult = {
    form: 'envelope',
    errors,
    warnings,
    ...(signer !== undefined ? { signerDid: signer } : {}),
  };
  return errors.length === 0 && inner.policyHashB64u !== undefined
    ? { ...result, policyHashB64u: inner.policyHashB64u }
    : result;
}
