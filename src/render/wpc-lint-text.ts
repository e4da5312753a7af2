import type { WpcForm, WpcLintResult, WpcWarning, WpcWarningCode } from '../core/policy/wpc-lint';

/** The words for `lintWpc` (src/core/policy/wpc-lint.ts): used by `clawgate wpc check`. */

export const WPC_FORM_TEXT: Record<WpcForm, string> = {
  bitbucket: 'Bitbucket WPC (tool + policy)',
  clawsig_v1: 'Clawsig work_policy_contract v1',
  clawsig_v2: 'Clawsig work_policy_contract v2',
  envelope: 'signed WPC envelope',
};

export const WPC_WARNING_TEXT: Record<WpcWarningCode, (data: Readonly<Record<string, string>>) => string> = {
  PIPELINE_FILE_NOT_DENIED: (data) =>
    `no deny glob covers the pipeline file (${data.path ?? 'bitbucket-pipelines.yml'}): an agent could change what CI runs; add "**/bitbucket-pipelines.yml"`,
  MERGE_NOT_DENIED: () =>
    'merge_pr is not denied: agents must not merge (a status check is advice to the human who merges)',
  DIRECT_PUSH_NOT_DENIED: () =>
    'direct_push_main is not denied: a push to the main or a protected branch would not be an incident',
  GATEWAY_RECEIPTS_NOT_REQUIRED: () =>
    'gateway receipts are not required: the models the agent used are then only its own claim',
  APPROVAL_NOT_REQUIRED: () => 'approval_required is false: an agent PR can pass without a human approving it',
  PLACEHOLDER_REPO: () =>
    'still the template\'s placeholder repository: name your "workspace/repo_slug" (wpc init --repo)',
  PLACEHOLDER_ISSUER: () =>
    "still the template's placeholder issuer: use your did:key (wpc init --key FILE or --issuer DID)",
  FORM_NOT_ACCEPTED_BY_SERVER: (data) =>
    `this clawgate's policy upload does not accept the ${data.form === 'clawsig_v2' ? 'v2' : 'v1'} form yet; use the Bitbucket form (wpc init) to enforce on pull requests`,
  NO_MODEL_RESTRICTION: () => 'no model restriction: any provider and model is allowed',
  SIGNER_NOT_CHECKABLE: () =>
    'the signer is not an Ed25519 did:key, so the signature cannot be checked (the server refuses it)',
};

export function wpcWarningText(warning: WpcWarning): string {
  return WPC_WARNING_TEXT[warning.code](warning.data ?? {});
}

/** `wpc check`'s report: the form, each error and warning with its field path, then the hash. */
export function wpcLintToText(file: string, result: WpcLintResult): string {
  const lines: string[] = [];
  lines.push(`${file}: ${result.form === null ? 'not a WPC' : WPC_FORM_TEXT[result.form]}`);
  for (const error of result.errors)
    lines.push(`  error   ${error.path === '' ? '(document)' : error.path}: ${error.message}`);
  for (const warning of result.warnings)
    lines.push(`  warning ${warning.path === '' ? '(document)' : warning.path}: ${wpcWarningText(warning)}`);
  if (result.signerDid !== undefined) lines.push(`  signer  ${result.signerDid}`);
  if (result.policyHashB64u !== undefined) lines.push(`  hash    ${result.policyHashB64u}`);
  const verdict =
    result.errors.length > 0
      ? `invalid (${result.errors.length} error${result.errors.length === 1 ? '' : 's'})`
      : result.warnings.length > 0
        ? `valid, ${result.warnings.length} warning${result.warnings.length === 1 ? '' : 's'}`
        : 'valid';
  lines.push(`  ${verdict}`);
  return `${lines.join('\n')}\n`;
}
