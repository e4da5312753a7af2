/**
 * Starting points for a Work Policy Contract, shared by `clawgate wpc init` and the settings page
 * (pure data, no I/O, so the pages' bundle can import it). `bitbucket` is the seed's WPC (docs/policy.md)
 * and the default; `clawsig-v1` and `clawsig-v2` are the official Clawsig forms
 * (`../shared/clawsig/schema/policy/work_policy_contract.v{1,2}.json`). Placeholders are values the
 * schemas accept but `lintWpc` flags, so a template checks clean only once they are replaced.
 */

export const WPC_TEMPLATE_NAMES = ['bitbucket', 'clawsig-v1', 'clawsig-v2'] as const;
export type WpcTemplateName = (typeof WPC_TEMPLATE_NAMES)[number];
export const DEFAULT_WPC_TEMPLATE: WpcTemplateName = 'bitbucket';

/** Stands for the repositories until `--repo` (or an edit) names them. */
export const PLACEHOLDER_REPO = 'WORKSPACE/REPOSITORY';
/** Stands for the issuer until `--issuer`/`--key` (or an edit) names it. */
export const PLACEHOLDER_ISSUER_DID = 'did:key:REPLACE_WITH_THE_ISSUER_DID';

/** The seed's deny globs: the pipeline definition, CI directories and security policy files. */
export const DEFAULT_DENY_GLOBS = [
  '**/bitbucket-pipelines.yml',
  '**/.pipeline/**',
  '**/.github/**',
  '**/SECURITY*',
] as const;

export interface WpcTemplateOptions {
  /** Exact `workspace/repo_slug` names for `repos_allowlist` (bitbucket) or `metadata` (official forms). */
  readonly repos?: readonly string[];
  readonly issuerDid?: string;
  readonly policyId?: string;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function bitbucketTemplate(options: WpcTemplateOptions): { [key: string]: Json } {
  const repos = options.repos && options.repos.length > 0 ? [...options.repos] : [PLACEHOLDER_REPO];
  const wpc: { [key: string]: Json } = {
    tool: 'bitbucket_via_official_api',
    policy: {
      repos_allowlist: repos,
      read: { allow: ['list_repos', 'get_file', 'get_diff', 'list_prs', 'get_pr'] },
      write: {
        allow: ['create_branch', 'create_pr', 'comment_pr'],
        deny: ['merge_pr', 'delete_branch', 'change_repo_permissions', 'direct_push_main'],
        approval_required: true,
      },
      paths: { deny_globs: [...DEFAULT_DENY_GLOBS] },
      auth: { least_privilege_scopes_required: true, separate_identities_for_read_vs_write: true },
      attestation: { require_gateway_receipts: true, emit_proof_bundle: true },
    },
  };
  if (options.issuerDid !== undefined) wpc.issuer_did = options.issuerDid;
  if (options.policyId !== undefined) wpc.policy_id = options.policyId;
  return wpc;
}

function clawsigV1Template(options: WpcTemplateOptions): { [key: string]: Json } {
  return {
    policy_version: '1',
    policy_id: options.policyId ?? 'bitbucket-agents',
    issuer_did: options.issuerDid ?? PLACEHOLDER_ISSUER_DID,
    allowed_providers: ['anthropic', 'openai'],
    allowed_models: ['claude-*', 'gpt-*'],
    egress_allowlist: ['api.bitbucket.org'],
    metadata: { repositories: options.repos && options.repos.length > 0 ? [...options.repos] : [PLACEHOLDER_REPO] },
  };
}

function clawsigV2Template(options: WpcTemplateOptions): { [key: string]: Json } {
  return {
    policy_version: '2',
    policy_id: options.policyId ?? 'bitbucket-agents',
    issuer_did: options.issuerDid ?? PLACEHOLDER_ISSUER_DID,
    coverage_enforcement: 'enforce',
    statements: [
      {
        sid: 'models-anthropic',
        effect: 'Allow',
        actions: ['model:invoke'],
        resources: ['*'],
        conditions: { StringEquals: { 'Model:Provider': 'anthropic' } },
      },
      {
        sid: 'models-openai',
        effect: 'Allow',
        actions: ['model:invoke'],
        resources: ['*'],
        conditions: { StringEquals: { 'Model:Provider': 'openai' } },
      },
      {
        sid: 'repository-writes',
        effect: 'Allow',
        actions: ['side_effect:filesystem_write', 'side_effect:filesystem_read'],
        resources: ['**'],
      },
      {
        sid: 'no-pipeline-edits',
        effect: 'Deny',
        actions: ['side_effect:filesystem_write'],
        resources: [...DEFAULT_DENY_GLOBS],
      },
    ],
    metadata: { repositories: options.repos && options.repos.length > 0 ? [...options.repos] : [PLACEHOLDER_REPO] },
  };
}

/** A fresh copy of the named template (callers may edit it). */
export function wpcTemplate(name: WpcTemplateName, options: WpcTemplateOptions = {}): { [key: string]: Json } {
  switch (name) {
    case 'bitbucket':
      return bitbucketTemplate(options);
    case 'clawsig-v1':
      return clawsigV1Template(options);
    case 'clawsig-v2':
      return clawsigV2Template(options);
  }
}

export function isWpcTemplateName(value: string): value is WpcTemplateName {
  return (WPC_TEMPLATE_NAMES as readonly string[]).includes(value);
}
