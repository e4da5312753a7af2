import type { PolicyDetail } from '../client/api-schemas';

function list(value: unknown): string[] | null {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : null;
}

function at(document: Record<string, unknown>, ...path: string[]): unknown {
  let value: unknown = document;
  for (const key of path)
    value =
      typeof value === 'object' && value !== null && key in value ? (value as Record<string, unknown>)[key] : undefined;
  return value;
}

function Values({ values, none }: { values: string[] | null; none: string }) {
  if (values === null || values.length === 0) return <>{none}</>;
  return (
    <ul className="cg-inline-list">
      {values.map((value) => (
        <li key={value}>
          <code className="cg-mono">{value}</code>
        </li>
      ))}
    </ul>
  );
}

/** The clauses of a Bitbucket WPC (docs/policy.md) in words: what this policy enforces. */
export function PolicyClauses({ policy }: { policy: PolicyDetail }) {
  // An official Clawsig WPC keeps its Bitbucket clauses under metadata.bitbucket (the seed's `policy` section).
  const doc: Record<string, unknown> =
    'policy_version' in policy.document && !('tool' in policy.document)
      ? { ...policy.document, policy: at(policy.document, 'metadata', 'bitbucket') }
      : policy.document;
  const approval = at(doc, 'policy', 'write', 'approval_required');
  const receipts = at(doc, 'policy', 'attestation', 'require_gateway_receipts');
  const bundle = at(doc, 'policy', 'attestation', 'emit_proof_bundle');
  const leastPrivilege = at(doc, 'policy', 'auth', 'least_privilege_scopes_required');
  const separate = at(doc, 'policy', 'auth', 'separate_identities_for_read_vs_write');
  return (
    <dl className="cg-facts cg-facts-wide" aria-label="Policy clauses">
      <dt>Repositories allowed</dt>
      <dd>
        <Values values={list(at(doc, 'policy', 'repos_allowlist'))} none="none" />
      </dd>
      <dt>Denied paths</dt>
      <dd>
        <Values values={list(at(doc, 'policy', 'paths', 'deny_globs'))} none="none" />
      </dd>
      <dt>Write actions allowed</dt>
      <dd>
        <Values values={list(at(doc, 'policy', 'write', 'allow'))} none="none" />
      </dd>
      <dt>Write actions denied</dt>
      <dd>
        <Values values={list(at(doc, 'policy', 'write', 'deny'))} none="none" />
      </dd>
      <dt>Model providers allowed</dt>
      <dd>
        <Values values={list(doc.allowed_providers)} none="any" />
      </dd>
      <dt>Models allowed</dt>
      <dd>
        <Values values={list(doc.allowed_models)} none="any" />
      </dd>
      <dt>Human approval</dt>
      <dd>{approval === true ? 'required' : 'not required'}</dd>
      <dt>Evidence</dt>
      <dd>
        {bundle === true ? 'proof bundle required' : 'proof bundle optional'};{' '}
        {receipts === true ? 'gateway receipts required' : 'gateway receipts optional'}
      </dd>
      <dt>Token rules</dt>
      <dd>
        {leastPrivilege === true ? 'least-privilege scopes' : 'any scopes'};{' '}
        {separate === true ? 'separate read and write identities' : 'shared identities allowed'}
      </dd>
    </dl>
  );
}
