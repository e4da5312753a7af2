import { parseWpc, type ParsedWpc } from '../core/policy';
import { validationFailed } from '../http/http-error';

/**
 * A policy upload (`POST /workspaces/{ws}/policies`) in any of the three WPC forms — the Bitbucket
 * shape, the official Clawsig v1 or v2 — bare or in a signed `work_policy_contract` envelope, which
 * the engine's parser checks in the reference's order against the workspace's `wpc_issuers`
 * (src/core/policy/wpc-forms.ts). Refusals map to 422 with the parser's code and field paths:
 * a malformed envelope is VALIDATION_FAILED, an invalid document INVALID_POLICY, and the signature
 * chain WPC_HASH_INVALID / WPC_ISSUER_MISMATCH / WPC_SIGNER_NOT_ALLOWED /
 * WPC_SIGNER_DID_UNSUPPORTED / WPC_SIGNATURE_INVALID.
 */
export function acceptWpcUpload(value: unknown, wpcIssuers: readonly string[]): ParsedWpc {
  const parsed = parseWpc(value, { wpcIssuers });
  if (parsed.ok) return parsed.policy;
  const fields = parsed.issues.map((issue) => ({ path: issue.path, message: issue.message }));
  switch (parsed.code) {
    case 'WPC_ENVELOPE_MALFORMED':
      throw validationFailed(fields, 'the signed WPC envelope is malformed');
    case 'INVALID_POLICY':
      throw validationFailed(
        fields,
        'the document is not a valid WPC (Bitbucket shape, or official Clawsig v1/v2)',
        'INVALID_POLICY',
      );
    default:
      throw validationFailed(fields, fields[0]?.message ?? 'the signed WPC envelope is refused', parsed.code);
  }
}
