import Button from '@atlaskit/button/new';
import Form, { HelperMessage, Label } from '@atlaskit/form';
import SectionMessage from '@atlaskit/section-message';
import TextArea from '@atlaskit/textarea';
import { useId, useState } from 'react';
import {
  DEFAULT_WPC_TEMPLATE,
  isWpcTemplateName,
  PLACEHOLDER_REPO,
  WPC_TEMPLATE_NAMES,
  wpcTemplate,
  type WpcTemplateName,
} from '../../core/policy/wpc-templates';
import type { PolicySummary } from '../client/api-schemas';
import type { ClawgateClient } from '../client/clawgate-client';
import { ChoiceSelect } from '../components/ChoiceSelect';
import { DataTable, rowAttributes } from '../components/DataTable';
import { ErrorNotice } from '../components/ErrorNotice';
import { Loading } from '../components/Loading';
import { Mono } from '../components/Mono';
import { PolicyClauses } from '../components/PolicyClauses';
import { useLoad } from '../hooks/use-load';
import { formatTime } from '../model/words';

function PolicyView({ client, hash }: { client: ClawgateClient; hash: string }) {
  const policy = useLoad(() => client.getPolicy(hash), hash);
  if (policy.status === 'loading') return <Loading label="Loading the policy…" />;
  if (policy.status === 'error') return <ErrorNotice error={policy.error} title="The policy could not be loaded" />;
  return (
    <div className="cg-policy-view" data-policy-hash={hash}>
      <p>
        Hash <Mono value={hash} /> (SHA-256 of the canonical JSON; receipts and scoped tokens pin this value).
      </p>
      <PolicyClauses policy={policy.value} />
      <pre className="cg-json" aria-label={`Policy ${hash} as JSON`}>
        {JSON.stringify(policy.value.document, null, 2)}
      </pre>
    </div>
  );
}

/** The same templates as `clawgate wpc init` (src/core/policy/wpc-templates.ts). */
const TEMPLATE_LABELS: Record<WpcTemplateName, string> = {
  bitbucket: 'Bitbucket WPC (recommended): agents branch, open PRs and comment; never merge or touch pipelines',
  'clawsig-v1': 'Clawsig work_policy_contract v1 (official form)',
  'clawsig-v2': 'Clawsig work_policy_contract v2 (official form, statements)',
};

/** Upload a WPC (or a signed WPC envelope), list the workspace's policies, view one as JSON with its hash. */
export function PoliciesSection({
  client,
  policies,
  onUploaded,
}: {
  client: ClawgateClient;
  policies: readonly PolicySummary[];
  onUploaded: () => void;
}) {
  const textId = useId();
  const fileId = useId();
  const templateId = useId();
  const [template, setTemplate] = useState<WpcTemplateName>(DEFAULT_WPC_TEMPLATE);
  const [text, setText] = useState('');
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<
    { ok: true; hash: string; created: boolean } | { ok: false; error: unknown } | null
  >(null);
  const [viewing, setViewing] = useState<string | null>(null);

  const upload = (): void => {
    setBusy(true);
    setResult(null);
    client.uploadPolicy(text).then(
      ({ hash, created }) => {
        setBusy(false);
        setResult({ ok: true, hash, created });
        setViewing(hash);
        onUploaded();
      },
      (error: unknown) => {
        setBusy(false);
        setResult({ ok: false, error });
      },
    );
  };

  return (
    <>
      <Form label="Upload a policy" formProps={{ className: 'cg-upload' }} onSubmit={upload}>
        <div className="cg-field">
          <Label htmlFor={templateId}>Start from a template</Label>
          <ChoiceSelect
            inputId={templateId}
            testId="cg-template-select"
            options={WPC_TEMPLATE_NAMES.map((name) => ({ value: name, label: TEMPLATE_LABELS[name] }))}
            value={template}
            onChange={(value) => {
              if (isWpcTemplateName(value)) setTemplate(value);
            }}
          />
          <Button appearance="default" onClick={() => setText(`${JSON.stringify(wpcTemplate(template), null, 2)}\n`)}>
            Use template
          </Button>
          <HelperMessage>
            Replace {PLACEHOLDER_REPO} with your repositories (workspace/repo_slug) before uploading. The same
            templates: <code>clawgate wpc init --template {template}</code>.
          </HelperMessage>
        </div>
        <div className="cg-field">
          <Label htmlFor={textId}>Policy document (a Bitbucket WPC, or a signed WPC envelope), as JSON</Label>
          <TextArea
            id={textId}
            value={text}
            minimumRows={6}
            resize="vertical"
            isMonospaced
            spellCheck={false}
            onChange={(event) => setText(event.currentTarget.value)}
          />
        </div>
        <div className="cg-field">
          <Label htmlFor={fileId}>…or read it from a file</Label>
          <input
            id={fileId}
            type="file"
            accept=".json,application/json"
            onChange={(event) => {
              const file = event.currentTarget.files?.[0];
              if (file !== undefined) void file.text().then(setText);
            }}
          />
        </div>
        <Button type="submit" appearance="primary" isLoading={busy} isDisabled={text.trim() === ''}>
          Upload policy
        </Button>
      </Form>
      {result !== null && result.ok ? (
        <div role="status">
          <SectionMessage
            appearance="success"
            title={result.created ? 'Policy stored' : 'This policy was already stored'}
          >
            <p>
              Its hash is <Mono value={result.hash} />. Assign it to repositories below.
            </p>
          </SectionMessage>
        </div>
      ) : null}
      {result !== null && !result.ok ? <ErrorNotice error={result.error} title="The policy was refused" /> : null}
      {policies.length === 0 ? (
        <p>No policies yet.</p>
      ) : (
        <DataTable
          label="Policies"
          head={[
            { key: 'hash', content: 'Hash' },
            { key: 'uploaded', content: 'Uploaded', isSortable: true },
            { key: 'signed', content: 'Signed' },
            { key: 'actions', content: <span className="cg-visually-hidden">Actions</span> },
          ]}
          rows={policies.map((policy) => ({
            key: policy.policy_hash_b64u,
            ...rowAttributes({ 'data-policy-hash': policy.policy_hash_b64u }),
            cells: [
              { key: policy.policy_hash_b64u, content: <Mono value={policy.policy_hash_b64u} /> },
              {
                key: policy.created_at,
                content: (
                  <>
                    {formatTime(policy.created_at)}
                    {policy.created_by ? <div className="cg-muted">{policy.created_by}</div> : null}
                  </>
                ),
              },
              { key: String(policy.signed), content: policy.signed ? 'signed' : 'not signed' },
              {
                content: (
                  <Button
                    appearance="subtle"
                    aria-expanded={viewing === policy.policy_hash_b64u}
                    aria-label={`View policy ${policy.policy_hash_b64u}`}
                    onClick={() => setViewing(viewing === policy.policy_hash_b64u ? null : policy.policy_hash_b64u)}
                  >
                    {viewing === policy.policy_hash_b64u ? 'Hide' : 'View'}
                  </Button>
                ),
              },
            ],
          }))}
        />
      )}
      {viewing !== null ? <PolicyView client={client} hash={viewing} /> : null}
    </>
  );
}
