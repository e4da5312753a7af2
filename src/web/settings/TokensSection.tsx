import Button from '@atlaskit/button/new';
import Form, { Fieldset, Label } from '@atlaskit/form';
import Lozenge from '@atlaskit/lozenge';
import { RadioGroup } from '@atlaskit/radio';
import SectionMessage from '@atlaskit/section-message';
import Textfield from '@atlaskit/textfield';
import { useId, useState } from 'react';
import { TOKEN_SCOPE_CHOICES, type CreatedApiToken, type TokenScopeChoice } from '../client/api-schemas';
import type { ClawgateClient } from '../client/clawgate-client';
import { DataTable, rowAttributes } from '../components/DataTable';
import { ErrorNotice } from '../components/ErrorNotice';
import { Loading } from '../components/Loading';
import { useLoad } from '../hooks/use-load';
import { formatTime } from '../model/words';

/** What each scope lets a token do, in the words the page shows (docs/api.md "Token scopes"). */
const SCOPE_WORDS: Record<TokenScopeChoice, string> = {
  'bundles:write': 'upload proof bundles and read their verdicts (for pipelines)',
  read: 'read verdicts, bundles, policies and the audit log',
  admin: 'everything: settings, policies, assignments, tokens, merge checks, re-checks',
};

/**
 * API tokens for pipelines and scripts: created here with the scopes chosen (shown once), listed by
 * prefix with their scopes, revoked. The default is `bundles:write`, the least a pipeline needs.
 */
export function TokensSection({ client }: { client: ClawgateClient }) {
  const labelId = useId();
  const shownId = useId();
  const tokens = useLoad(() => client.listTokens(), 'tokens');
  const [label, setLabel] = useState('');
  const [scope, setScope] = useState<TokenScopeChoice>('bundles:write');
  const [created, setCreated] = useState<CreatedApiToken | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);

  const create = (): void => {
    setBusy('create');
    setError(null);
    client.createToken(label.trim() === '' ? null : label.trim(), [scope]).then(
      (token) => {
        setBusy(null);
        setCreated(token);
        setLabel('');
        tokens.reload();
      },
      (failure: unknown) => {
        setBusy(null);
        setError(failure);
      },
    );
  };

  const revoke = (id: string): void => {
    setBusy(id);
    setError(null);
    client.revokeToken(id).then(
      () => {
        setBusy(null);
        tokens.reload();
      },
      (failure: unknown) => {
        setBusy(null);
        setError(failure);
      },
    );
  };

  return (
    <>
      <Form label="Create an API token" formProps={{ className: 'cg-inline-form' }} onSubmit={create}>
        <div className="cg-field">
          <Label htmlFor={labelId}>Label (optional)</Label>
          <Textfield
            id={labelId}
            value={label}
            placeholder="ci uploader"
            onChange={(event) => setLabel(event.currentTarget.value)}
          />
        </div>
        <Fieldset legend="Scope">
          <RadioGroup
            name={`${labelId}-scope`}
            value={scope}
            options={TOKEN_SCOPE_CHOICES.map((choice) => ({
              name: `${labelId}-scope`,
              value: choice,
              label: (
                <>
                  <code className="cg-mono">{choice}</code>: {SCOPE_WORDS[choice]}
                </>
              ),
            }))}
            onChange={(event) => {
              const chosen = TOKEN_SCOPE_CHOICES.find((choice) => choice === event.currentTarget.value);
              if (chosen !== undefined) setScope(chosen);
            }}
          />
        </Fieldset>
        <Button type="submit" appearance="primary" isLoading={busy === 'create'}>
          Create token
        </Button>
      </Form>
      {created !== null ? (
        <SectionMessage appearance="warning" title="Copy this token now: it is shown only once">
          <div className="cg-field">
            <Label htmlFor={shownId}>
              New token{created.label ? ` “${created.label}”` : ''}
              {created.scopes ? ` (${created.scopes.join(', ')})` : ''}
            </Label>
            <Textfield
              id={shownId}
              isReadOnly
              isMonospaced
              value={created.token}
              onFocus={(event) => event.currentTarget.select()}
            />
          </div>
          <p>
            clawgate keeps only its hash. Store it in your pipeline’s secrets; use it as{' '}
            <code className="cg-mono">Authorization: Bearer …</code>.
          </p>
          <Button onClick={() => setCreated(null)}>I have copied it</Button>
        </SectionMessage>
      ) : null}
      {error !== null ? <ErrorNotice error={error} /> : null}
      {tokens.status === 'loading' ? (
        <Loading label="Loading tokens…" />
      ) : tokens.status === 'error' ? (
        <ErrorNotice error={tokens.error} title="The tokens could not be loaded" />
      ) : tokens.value.length === 0 ? (
        <p>No API tokens.</p>
      ) : (
        <DataTable
          label="API tokens"
          head={[
            { key: 'token', content: 'Token' },
            { key: 'scopes', content: 'Scopes' },
            { key: 'created', content: 'Created', isSortable: true },
            { key: 'last-used', content: 'Last used', isSortable: true },
            { key: 'state', content: 'State' },
          ]}
          rows={tokens.value.map((token) => ({
            key: token.id,
            ...rowAttributes({ 'data-token-prefix': token.prefix }),
            cells: [
              {
                key: token.prefix,
                content: (
                  <>
                    <code className="cg-mono">{token.prefix}…</code>
                    {token.label ? <div>{token.label}</div> : null}
                  </>
                ),
              },
              {
                content: (token.scopes ?? ['admin']).map((tokenScope) => (
                  <Lozenge key={tokenScope} appearance={tokenScope === 'admin' ? 'moved' : 'default'}>
                    {tokenScope}
                  </Lozenge>
                )),
              },
              {
                key: token.created_at,
                content: (
                  <>
                    {formatTime(token.created_at)}
                    {token.created_by ? <div className="cg-muted">{token.created_by}</div> : null}
                  </>
                ),
              },
              { key: token.last_used_at ?? '', content: token.last_used_at ? formatTime(token.last_used_at) : 'never' },
              {
                content: token.revoked_at ? (
                  <Lozenge appearance="removed">revoked</Lozenge>
                ) : (
                  <Button
                    appearance="warning"
                    isLoading={busy === token.id}
                    aria-label={`Revoke token ${token.prefix}`}
                    onClick={() => revoke(token.id)}
                  >
                    Revoke
                  </Button>
                ),
              },
            ],
          }))}
        />
      )}
    </>
  );
}
