import { z } from 'zod';
import { jcsHashB64u } from '../clawsig/hashing';
import type { ReadAction, WriteAction } from './change-set';
import { denyGlobProblem } from './deny-globs';

/**
 * The Bitbucket Work Policy Contract (docs/policy.md): the seed's `{tool, policy}` shape plus the Clawsig
 * WPC v1 fields that make sense beside it. Strict on purpose: every field of the
 * seed's `policy` is required (no defaults, so the hash covers exactly what the engine enforces), and
 * unknown keys are refused, so a typo such as `deny_glob` cannot silently weaken a policy.
 */

export const WPC_TOOL = 'bitbucket_via_official_api';
export const WPC_LIMITS = {
  /** UTF-8 bytes of the document's JSON form. */
  maxJsonBytes: 64 * 1024,
  /** Nesting depth of the whole document (metadata is free-form). */
  maxDepth: 32,
  maxRepos: 1000,
  maxRepoNameLength: 200,
  maxDenyGlobs: 1000,
  maxModels: 256,
  maxModelPatternLength: 256,
} as const;

export const WRITE_ACTIONS = [
  'create_pr',
  'create_branch',
  'comment_pr',
  'merge_pr',
  'delete_branch',
  'direct_push_main',
  'change_repo_permissions',
] as const satisfies readonly WriteAction[];
export const READ_ACTIONS = [
  'list_repos',
  'get_file',
  'get_diff',
  'list_prs',
  'get_pr',
] as const satisfies readonly ReadAction[];
// Compile-time guard: the vocabulary above must cover change-set.ts exactly.
const _writeActionsComplete: Exclude<WriteAction, (typeof WRITE_ACTIONS)[number]> extends never ? true : never = true;
const _readActionsComplete: Exclude<ReadAction, (typeof READ_ACTIONS)[number]> extends never ? true : never = true;
void _writeActionsComplete;
void _readActionsComplete;

export const WPC_PROVIDERS = ['openai', 'anthropic', 'google'] as const;
export type WpcProvider = (typeof WPC_PROVIDERS)[number];

/** Clawsig WPC v1 fields clawgate does not enforce; refused with a clearer message than "unknown". */
const UNSUPPORTED_V1_FIELDS = new Set([
  'minimum_model_identity_tier',
  'required_audit_packs',
  'redaction_rules',
  'receipt_privacy_mode',
  'egress_allowlist',
]);

/**
 * An array whose items are all distinct; a duplicate is reported at its own index. Strings compare
 * case-insensitively where matching does (repos, deny globs), exactly where it does not (models).
 */
function distinctArray<T extends z.ZodType>(item: T, compare: 'ignore_case' | 'exact' = 'ignore_case') {
  return z.array(item).superRefine((items, ctx) => {
    const seen = new Map<unknown, number>();
    items.forEach((value, index) => {
      const key = typeof value === 'string' && compare === 'ignore_case' ? value.toLowerCase() : value;
      const first = seen.get(key);
      if (first === undefined) seen.set(key, index);
      else ctx.addIssue({ code: 'custom', path: [index], message: `duplicate of [${first}]` });
    });
  });
}

const untrimmed = (s: string) => s.trim() === s;

// Bitbucket workspace and repository slugs: letters, digits, `-`, `_`, `.`. Exact names only, no globs.
const repoFullName = z
  .string()
  .max(WPC_LIMITS.maxRepoNameLength)
  .regex(/^[A-Za-z0-9._-]+\/[A-Za-z0-9._-]+$/, 'must be "workspace/repo_slug" (exact names, no globs)');

const denyGlob = z.string().superRefine((glob, ctx) => {
  const problem = denyGlobProblem(glob);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
});

const modelPattern = z
  .string()
  .min(1)
  .max(WPC_LIMITS.maxModelPatternLength)
  .refine(untrimmed, 'must not start or end with whitespace');

const writeSection = z
  .strictObject({
    allow: distinctArray(z.enum(WRITE_ACTIONS)),
    deny: distinctArray(z.enum(WRITE_ACTIONS)),
    approval_required: z.boolean(),
  })
  .superRefine((write, ctx) => {
    // Deny would win anyway, but an action in both lists is a contradiction worth a correction.
    write.deny.forEach((action, index) => {
      if (write.allow.includes(action))
        ctx.addIssue({ code: 'custom', path: ['deny', index], message: 'also listed in policy.write.allow' });
    });
  });

export const bitbucketPolicySectionSchema = z.strictObject({
  repos_allowlist: distinctArray(repoFullName).min(1, 'must list at least one repository').max(WPC_LIMITS.maxRepos),
  read: z.strictObject({ allow: distinctArray(z.enum(READ_ACTIONS)) }),
  write: writeSection,
  paths: z.strictObject({ deny_globs: distinctArray(denyGlob).max(WPC_LIMITS.maxDenyGlobs) }),
  auth: z.strictObject({
    least_privilege_scopes_required: z.boolean(),
    separate_identities_for_read_vs_write: z.boolean(),
  }),
  attestation: z.strictObject({
    require_gateway_receipts: z.boolean(),
    emit_proof_bundle: z.boolean(),
  }),
});

export const bitbucketWpcSchema = z.strictObject({
  tool: z.literal(WPC_TOOL),
  policy: bitbucketPolicySectionSchema,
  policy_version: z.literal('1').optional(),
  policy_id: z.string().min(1).max(128).optional(),
  issuer_did: z.string().min(4).max(256).regex(/^did:/, 'must start with "did:"').optional(),
  // Empty lists are refused: the reference reads [] as "allow all", a reader as "allow none".
  allowed_providers: distinctArray(z.enum(WPC_PROVIDERS)).min(1, 'omit the field instead of an empty list').optional(),
  allowed_models: distinctArray(modelPattern, 'exact')
    .min(1, 'omit the field instead of an empty list')
    .max(WPC_LIMITS.maxModels)
    .optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
});

export type BitbucketWpc = z.output<typeof bitbucketWpcSchema>;

export interface WpcIssue {
  /** Field path, e.g. `policy.paths.deny_globs[2]`; `` for the document itself. */
  path: string;
  message: string;
}

export type ParseBitbucketWpcResult =
  { ok: true; wpc: BitbucketWpc; policyHashB64u: string } | { ok: false; issues: WpcIssue[] };

/** b64u(SHA-256(JCS(wpc))), 43 characters, the WPC hash of every Clawsig policy (docs/policy.md). */
export function bitbucketWpcHash(wpc: BitbucketWpc): string {
  return jcsHashB64u(wpc);
}

/** Validate a WPC document (parsed JSON) and compute its hash over the document exactly as given. */
export function parseBitbucketWpc(input: unknown): ParseBitbucketWpcResult {
  const jsonIssue = jsonShapeIssue(input);
  if (jsonIssue !== undefined) return { ok: false, issues: [jsonIssue] };
  const bytes = Buffer.byteLength(JSON.stringify(input), 'utf8');
  if (bytes > WPC_LIMITS.maxJsonBytes)
    return {
      ok: false,
      issues: [{ path: '', message: `document is ${bytes} bytes; the limit is ${WPC_LIMITS.maxJsonBytes}` }],
    };

  const parsed = bitbucketWpcSchema.safeParse(input);
  if (!parsed.success) return { ok: false, issues: toWpcIssues(parsed.error.issues) };
  // Hash the input, not zod's output: nothing is added or dropped by the strict schema, but hashing
  // what was given is the rule (hash as received, never a rebuilt copy) and keeps the hash independent of the validator.
  return { ok: true, wpc: parsed.data, policyHashB64u: jcsHashB64u(input) };
}

export function toWpcIssues(issues: readonly z.core.$ZodIssue[]): WpcIssue[] {
  const out: WpcIssue[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const path = [...issue.path, key];
        const message =
          issue.path.length === 0 && UNSUPPORTED_V1_FIELDS.has(key)
            ? 'Clawsig WPC v1 field not supported by clawgate'
            : 'unknown field';
        out.push({ path: formatPath(path), message });
      }
    } else {
      out.push({ path: formatPath(issue.path), message: issue.message });
    }
  }
  return out;
}

/** `['policy','paths','deny_globs',2]` → `policy.paths.deny_globs[2]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else {
      const key = String(part);
      out += /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? (out === '' ? key : `.${key}`) : `[${JSON.stringify(key)}]`;
    }
  }
  return out;
}

/**
 * The document must be plain JSON (what JSON.parse yields): no undefined, functions, class instances,
 * non-finite numbers, sparse arrays or cycles, and not absurdly deep or large. Walked iteratively so a
 * hostile nesting depth cannot overflow the stack; stops once the node count alone exceeds the size limit.
 */
export function jsonShapeIssue(input: unknown): WpcIssue | undefined {
  const stack: { value: unknown; path: PropertyKey[] }[] = [{ value: input, path: [] }];
  let nodes = 0;
  while (stack.length > 0) {
    const { value, path } = stack.pop() as { value: unknown; path: PropertyKey[] };
    if (++nodes > WPC_LIMITS.maxJsonBytes)
      return { path: '', message: `document is larger than ${WPC_LIMITS.maxJsonBytes} bytes` };
    if (path.length > WPC_LIMITS.maxDepth)
      return { path: formatPath(path), message: `nested deeper than ${WPC_LIMITS.maxDepth} levels` };
    if (value === null || typeof value === 'string' || typeof value === 'boolean') continue;
    if (typeof value === 'number') {
      if (!Number.isFinite(value)) return { path: formatPath(path), message: 'not a finite number' };
      continue;
    }
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        if (!(i in value)) return { path: formatPath([...path, i]), message: 'not a JSON value' };
        stack.push({ value: value[i], path: [...path, i] });
      }
      continue;
    }
    if (typeof value === 'object') {
      const proto: unknown = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) return { path: formatPath(path), message: 'not a JSON value' };
      for (const [key, child] of Object.entries(value)) stack.push({ value: child, path: [...path, key] });
      continue;
    }
    return { path: formatPath(path), message: 'not a JSON value' };
  }
  return undefined;
}
