import Button from '@atlaskit/button/new';
import Form, { Label } from '@atlaskit/form';
import SectionMessage from '@atlaskit/section-message';
import Textfield from '@atlaskit/textfield';
import { useId, useState } from 'react';
import type { PageName } from '../boot';

/**
 * The page a browser gets when it opened a clawgate page without a valid Bitbucket sign-in (the server
 * answered 401): what happened, in words, and what to do. The details page can also be read with a
 * workspace API token, for auditors outside Bitbucket.
 */

const PROBLEM_TEXT: Record<'missing' | 'expired' | 'invalid', string> = {
  missing: 'This page was opened without a sign-in from Bitbucket.',
  expired: 'The sign-in this link carried has expired (links from Bitbucket and from the clawgate panel last a few minutes).',
  invalid: 'The sign-in this link carried is not valid for any workspace that has clawgate installed.',
};

const WHAT_TO_DO: Record<PageName, string> = {
  'pr-panel': 'Open the pull request in Bitbucket: the clawgate panel is on its overview.',
  configure: 'Open the clawgate settings from Bitbucket: Workspace settings → Installed apps → clawgate → Configure.',
  details:
    'Only members of the workspace can see a verdict. Open the pull request in Bitbucket and follow “Open the details of this verdict” in the clawgate panel, or read it here with a workspace API token.',
  'agent-runs': 'Open the clawgate settings from Bitbucket (Workspace settings → Installed apps → clawgate → Configure) and follow “Open the recent agent runs”.',
};

export interface ApiTokenSignIn {
  readonly workspace: string;
  readonly token: string;
}

export function AuthRequired({ page, problem, onApiToken }: { page: PageName; problem: 'missing' | 'expired' | 'invalid'; onApiToken?: (signIn: ApiTokenSignIn) => void }) {
  const headingId = useId();
  const workspaceId = useId();
  const tokenId = useId();
  const [workspace, setWorkspace] = useState('');
  const [token, setToken] = useState('');
  return (
    <main className="cg-page" aria-labelledby="cg-auth-title">
      <h1 id="cg-auth-title">Sign-in needed</h1>
      <div data-testid="auth-required" data-problem={problem}>
        <SectionMessage appearance="warning" title={problem === 'expired' ? 'This link has expired' : 'clawgate cannot show this page yet'}>
          <p>{PROBLEM_TEXT[problem]}</p>
          <p>{WHAT_TO_DO[page]}</p>
        </SectionMessage>
      </div>
      {page === 'details' && onApiToken !== undefined ? (
        <section className="cg-section" aria-labelledby={headingId}>
          <h2 id={headingId}>Read with a workspace API token</h2>
          <p className="cg-muted">The token stays in this tab’s memory and is sent only to clawgate.</p>
          <Form
            label="Read the verdict with a workspace API token"
            formProps={{ className: 'cg-inline-form' }}
            onSubmit={() => {
              if (workspace.trim() !== '' && token.trim() !== '') onApiToken({ workspace: workspace.trim(), token: token.trim() });
            }}
          >
            <div className="cg-field">
              <Label htmlFor={workspaceId}>Workspace (slug)</Label>
              <Textfield id={workspaceId} value={workspace} autoComplete="off" onChange={(event) => setWorkspace(event.currentTarget.value)} />
            </div>
            <div className="cg-field">
              <Label htmlFor={tokenId}>API token</Label>
              <Textfield id={tokenId} type="password" value={token} autoComplete="off" placeholder="cgw_…" onChange={(event) => setToken(event.currentTarget.value)} />
            </div>
            <Button type="submit" appearance="primary" isDisabled={workspace.trim() === '' || token.trim() === ''}>
              Show the verdict
            </Button>
          </Form>
        </section>
      ) : null}
    </main>
  );
}
