import type { z } from 'zod';
import { decodeB64u } from '../clawsig/base64url';
import { publicKeyFromDidKey } from '../clawsig/did-key';
import { verifyEd25519 } from '../clawsig/ed25519';
import { jcsHashB64u } from '../clawsig/hashing';
import { isJsonObject, type JsonObject } from '../clawsig/json';
import { isRfc3339DateTime } from '../clawsig/rfc3339';
import { workPolicyContractV1Schema, workPolicyContractV2Schema, type WpcPolicyStatement } from '../clawsig/schemas';
import {
  bitbucketPolicySectionSchema,
  jsonShapeIssue,
  parseBitbucketWpc,
  toWpcIssues,
  READ_ACTIONS,
  WPC_LIMITS,
  WPC_TOOL,
  WRITE_ACTIONS,
  type BitbucketWpc,
  type WpcIssue,
} from './bitbucket-wpc';

/**
 * The three forms of Work Policy Contract clawgate accepts (docs/policy.md; docs/clawsig-profile.md,
 * "Work Policy Contracts"), bare or in a signed `work_policy_contract` envelope:
 *
 * - `bitbucket`: the seed's `{tool: "bitbucket_via_official_api", policy: {…}}` shape;
 * - `clawsig_v1`: the official `work_policy_contract.v1` (`policy_version: "1"`). Its Bitbucket
 *   clauses, when it has any, live under `metadata.bitbucket` (the seed's `policy` section,
 *   hash-bound like all of `metadata`); without them clawgate applies its documented defaults;
 * - `clawsig_v2`: the official IAM-style `work_policy_contract.v2` (`statements`), evaluated by
 *   wpc-v2.ts over clawgate's Bitbucket action vocabulary; `metadata.bitbucket` may add clauses.
 *
 * The hash of every form is b64u(SHA-256(JCS(payload))) (docs/policy.md). A signed envelope is
 * checked in the reference's order against the workspace's WPC issuers.
 */

export type WpcForm = 'bitbucket' | 'clawsig_v1' | 'clawsig_v2';

/** Official v1 fields clawgate cannot enforce on Bitbucket: reported among the criteria, never dropped. */
export const V1_UNENFORCEABLE_FIELDS = [
  'minimum_model_identity_tier',
  'required_audit_packs',
  'redaction_rules',
  'receipt_privacy_mode',
  'egress_allowlist',
] as const;
/** Official v2 fields clawgate cannot enforce on Bitbucket. */
export const V2_UNENFORCEABLE_FIELDS = ['coverage_enforcement', 'witnessed_web_policy'] as const;

/** What the engine needs besides the effective Bitbucket clauses. */
export interface OfficialWpcFacts {
  form: WpcForm;
  /** Verified signed envelope: who signed it. */
  signerDid?: string;
  /** Whether the Bitbucket clauses come from the document (`policy` / `metadata.bitbucket`) or clawgate's defaults. */
  bitbucketClauses: 'document' | 'defaults';
  /** Fields present in the document that clawgate cannot enforce on Bitbucket. */
  unenforceable: string[];
  /** v2 statements (evaluated by wpc-v2.ts). */
  statements?: WpcPolicyStatement[];
}

export interface ParsedWpc {
  /** The effective Bitbucket WPC the clause evaluators read (built from the form). */
  wpc: BitbucketWpc;
  /** b64u(SHA-256(JCS(payload))). */
  policyHashB64u: string;
  /** The payload as given (what the hash covers). */
  document: JsonObject;
  official: OfficialWpcFacts;
}

export type WpcFailureCode =
  | 'INVALID_POLICY'
  | 'WPC_HASH_INVALID'
  | 'WPC_ISSUER_MISMATCH'
  | 'WPC_SIGNER_NOT_ALLOWED'
  | 'WPC_SIGNER_DID_UNSUPPORTED'
  | 'WPC_SIGNATURE_INVALID'
  | 'WPC_ENVELOPE_MALFORMED';
export type ParseWpcResult = { ok: true; policy: ParsedWpc } | { ok: false; code: WpcFailureCode; issues: WpcIssue[] };

const ENVELOPE_KEYS = [
  'envelope_version',
  'envelope_type',
  'payload',
  'payload_hash_b64u',
  'hash_algorithm',
  'signature_b64u',
  'algorithm',
  'signer_did',
  'issued_at',
] as const;

/** True when a document is (or claims to be) a signed envelope rather than a bare WPC. */
export function looksLikeWpcEnvelope(value: unknown): boolean {
  return isJsonObject(value) && ('envelope_type' in value || ('payload' in value && 'signature_b64u' in value));
}

/**
 * The Bitbucket clauses clawgate applies when an official WPC carries none (documented defaults):
 * the seed's write rules (open and comment on PRs, push branches; never merge, delete branches,
 * change permissions or push to main), no denied paths, no auth clauses, a bundle and gateway
 * receipts required. The repository clause is left to the assignment. For v2 every write action is
 * listed as allowed here because the statements decide (`bitbucket:<action>`, default deny).
 */
function defaultBitbucketSection(form: WpcForm): BitbucketWpc['policy'] {
  return {
    repos_allowlist: [],
    read: { allow: [...READ_ACTIONS] },
    write:
      form === 'clawsig_v2'
        ? { allow: [...WRITE_ACTIONS], deny: [], approval_required: false }
        : {
            allow: ['create_branch', 'create_pr', 'comment_pr'],
            deny: ['merge_pr', 'delete_branch', 'change_repo_permissions', 'direct_push_main'],
            approval_required: false,
          },
    paths: { deny_globs: [] },
    auth: { least_privilege_scopes_required: false, separate_identities_for_read_vs_write: false },
    attestation: { require_gateway_receipts: true, emit_proof_bundle: true },
  };
}

function issuesOf(error: z.ZodError, prefix = ''): WpcIssue[] {
  return toWpcIssues(error.issues).map((issue) => ({
    path: prefix && issue.path ? `${prefix}.${issue.path}` : prefix || issue.path,
    message: issue.message,
  }));
}

const invalid = (issues: WpcIssue[]): ParseWpcResult => ({ ok: false, code: 'INVALID_POLICY', issues });

/** The Bitbucket clauses of an official WPC (`metadata.bitbucket`), validated as the seed's `policy` section. */
function bitbucketClausesOf(metadata: unknown): { section?: BitbucketWpc['policy']; issues?: WpcIssue[] } {
  if (!isJsonObject(metadata) || metadata.bitbucket === undefined) return {};
  const parsed = bitbucketPolicySectionSchema.safeParse(metadata.bitbucket);
  if (!parsed.success) return { issues: issuesOf(parsed.error, 'metadata.bitbucket') };
  return { section: parsed.data };
}

/** Validates a bare WPC payload of any form and computes its hash over the payload as given. */
export function parseWpcDocument(input: unknown): ParseWpcResult {
  const shape = jsonShapeIssue(input);
  if (shape !== undefined) return invalid([shape]);
  const bytes = Buffer.byteLength(JSON.stringify(input), 'utf8');
  if (bytes > WPC_LIMITS.maxJsonBytes)
    return invalid([{ path: '', message: `document is ${bytes} bytes; the limit is ${WPC_LIMITS.maxJsonBytes}` }]);
  if (!isJsonObject(input)) return invalid([{ path: '', message: 'must be a JSON object' }]);
  const hash = jcsHashB64u(input);

  if ('tool' in input || !('policy_version' in input)) {
    const parsed = parseBitbucketWpc(input);
    if (!parsed.ok) return invalid(parsed.issues);
    return {
      ok: true,
      policy: {
        wpc: parsed.wpc,
        policyHashB64u: hash,
        document: input,
        official: { form: 'bitbucket', bitbucketClauses: 'document', unenforceable: [] },
      },
    };
  }

  if (input.policy_version === '1') {
    const parsed = workPolicyContractV1Schema.safeParse(input);
    if (!parsed.success) return invalid(issuesOf(parsed.error));
    const v1 = parsed.data;
    const clauses = bitbucketClausesOf(v1.metadata);
    if (clauses.issues) return invalid(clauses.issues);
    // Empty lists are refused, as in the seed shape: the reference reads [] as "allow all".
    const empties = (['allowed_providers', 'allowed_models'] as const).filter((key) => v1[key]?.length === 0);
    if (empties.length > 0)
      return invalid(empties.map((key) => ({ path: key, message: 'omit the field instead of an empty list' })));
    const wpc: BitbucketWpc = {
      tool: WPC_TOOL,
      policy: clauses.section ?? defaultBitbucketSection('clawsig_v1'),
      policy_version: '1',
      policy_id: v1.policy_id,
      issuer_did: v1.issuer_did,
      ...(v1.allowed_providers ? { allowed_providers: [...new Set(v1.allowed_providers)] } : {}),
      ...(v1.allowed_models ? { allowed_models: [...new Set(v1.allowed_models)] } : {}),
    };
    const unenforceable = V1_UNENFORCEABLE_FIELDS.filter((field) => v1[field] !== undefined);
    return {
      ok: true,
      policy: {
        wpc,
        policyHashB64u: hash,
        document: input,
        official: { form: 'clawsig_v1', bitbucketClauses: clauses.section ? 'document' : 'defaults', unenforceable },
      },
    };
  }

  if (input.policy_version === '2') {
    const parsed = workPolicyContractV2Schema.safeParse(input);
    if (!parsed.success) return invalid(issuesOf(parsed.error));
    const v2 = parsed.data;
    // The reference ignores `inherits` when it has no resolver (fail open); clawgate has no registry
    // of parent policies, so it refuses the policy instead.
    if (v2.inherits !== undefined)
      return invalid([
        {
          path: 'inherits',
          message: 'inherited policies are not supported by clawgate (no parent resolver); refused rather than ignored',
        },
      ]);
    const clauses = bitbucketClausesOf(v2.metadata);
    if (clauses.issues) return invalid(clauses.issues);
    const wpc: BitbucketWpc = {
      tool: WPC_TOOL,
      policy: clauses.section ?? defaultBitbucketSection('clawsig_v2'),
      policy_id: v2.policy_id,
      issuer_did: v2.issuer_did,
    };
    const unenforceable = V2_UNENFORCEABLE_FIELDS.filter((field) => v2[field] !== undefined);
    return {
      ok: true,
      policy: {
        wpc,
        policyHashB64u: hash,
        document: input,
        official: {
          form: 'clawsig_v2',
          bitbucketClauses: clauses.section ? 'document' : 'defaults',
          unenforceable,
          statements: v2.statements,
        },
      },
    };
  }
  return invalid([
    {
      path: 'policy_version',
      message: 'must be "1" or "2" (official Clawsig WPC), or use the Bitbucket shape with "tool"',
    },
  ]);
}

function refused(code: WpcFailureCode, path: string, message: string): ParseWpcResult {
  return { ok: false, code, issues: [{ path, message }] };
}

/**
 * A WPC in any accepted form: bare, or a signed `work_policy_contract` envelope checked in the
 * reference verifier's order against `wpcIssuers` (clawproxy's WPC order): shape → payload valid →
 * `payload_hash_b64u` = JCS hash of the payload (WPC_HASH_INVALID) → `issuer_did` is the signer
 * (WPC_ISSUER_MISMATCH) → signer is a configured WPC issuer (WPC_SIGNER_NOT_ALLOWED) → signer is
 * an Ed25519 did:key (WPC_SIGNER_DID_UNSUPPORTED) → Ed25519 over UTF-8 of the hash string
 * (WPC_SIGNATURE_INVALID). The official envelope schema allows only v1 payloads; clawgate also
 * accepts v2 and the Bitbucket shape in the same envelope.
 */
export function parseWpc(input: unknown, options: { wpcIssuers: readonly string[] }): ParseWpcResult {
  if (!looksLikeWpcEnvelope(input)) return parseWpcDocument(input);
  const envelope = input as JsonObject;
  const shapeIssues: WpcIssue[] = [];
  for (const key of ENVELOPE_KEYS) if (!(key in envelope)) shapeIssues.push({ path: key, message: 'required' });
  for (const key of Object.keys(envelope))
    if (!(ENVELOPE_KEYS as readonly string[]).includes(key)) shapeIssues.push({ path: key, message: 'unknown field' });
  if (envelope.envelope_version !== '1') shapeIssues.push({ path: 'envelope_version', message: 'must be "1"' });
  if (envelope.envelope_type !== 'work_policy_contract')
    shapeIssues.push({ path: 'envelope_type', message: 'must be "work_policy_contract"' });
  if (envelope.hash_algorithm !== 'SHA-256') shapeIssues.push({ path: 'hash_algorithm', message: 'must be "SHA-256"' });
  if (envelope.algorithm !== 'Ed25519') shapeIssues.push({ path: 'algorithm', message: 'must be "Ed25519"' });
  if (typeof envelope.signer_did !== 'string' || !/^did:/.test(envelope.signer_did) || envelope.signer_did.length > 512)
    shapeIssues.push({ path: 'signer_did', message: 'must be a DID' });
  if (!isRfc3339DateTime(envelope.issued_at))
    shapeIssues.push({ path: 'issued_at', message: 'must be an RFC 3339 date-time' });
  for (const key of ['payload_hash_b64u', 'signature_b64u'] as const) {
    const value = envelope[key];
    if (typeof value !== 'string' || !/^[A-Za-z0-9_-]{8,}$/.test(value))
      shapeIssues.push({ path: key, message: 'must be base64url, at least 8 characters' });
  }
  if (shapeIssues.length > 0) return { ok: false, code: 'WPC_ENVELOPE_MALFORMED', issues: shapeIssues };

  const payload = parseWpcDocument(envelope.payload);
  if (!payload.ok)
    return {
      ok: false,
      code: 'INVALID_POLICY',
      issues: payload.issues.map((i) => ({ path: i.path ? `payload.${i.path}` : 'payload', message: i.message })),
    };
  const policy = payload.policy;
  const signer = envelope.signer_did as string;
  const hash = envelope.payload_hash_b64u as string;
  if (hash !== policy.policyHashB64u)
    return refused(
      'WPC_HASH_INVALID',
      'payload_hash_b64u',
      'payload_hash_b64u is not the JCS SHA-256 hash of the payload',
    );
  if (policy.wpc.issuer_did !== undefined && policy.wpc.issuer_did !== signer)
    return refused('WPC_ISSUER_MISMATCH', 'payload.issuer_did', 'payload.issuer_did is not the envelope signer');
  if (!options.wpcIssuers.includes(signer))
    return refused('WPC_SIGNER_NOT_ALLOWED', 'signer_did', "the signer is not one of this workspace's wpc_issuers");
  const publicKey = publicKeyFromDidKey(signer);
  if (publicKey === null)
    return refused('WPC_SIGNER_DID_UNSUPPORTED', 'signer_did', 'the signer must be an Ed25519 did:key');
  const signature = decodeB64u(envelope.signature_b64u as string);
  if (signature === null || signature.length !== 64 || !verifyEd25519(publicKey, hash, signature))
    return refused('WPC_SIGNATURE_INVALID', 'signature_b64u', 'the signature does not verify with the signer key');
  return { ok: true, policy: { ...policy, official: { ...policy.official, signerDid: signer } } };
}
