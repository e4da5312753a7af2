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

type AuthProblem = 'missing' | 'expired' | 'invalid' | 'forbidden';

const PROBLEM_TEXT: Record<AuthProblem, string> = {
  missing: 'This page was opened without a sign-in from Bitbucket.',
  forbidden: 'You are signed in with Bitbucket, but this page is for the workspace’s admins only.',
  expired:
    'The sign-in this link carried has expired (links from Bitbucket and from the clawgate panel last a few minutes).',
  invalid: 'The sign-in this link carried is not valid for any workspace that has clawgate installed.',
};

const WHAT_TO_DO: Record<PageName, string> = {
  'pr-panel': 'Open the pull request in Bitbucket: the clawgate panel is on its overview.',
  configure: 'Open the clawgate settings from Bitbucket: Workspace settings → Installed apps → clawgate → Configure.',
  details:
    'Only people who may read the repository can see a verdict. Sign in with Bitbucket below, open the pull request in Bitbucket and follow “Open the details of this verdict” in the clawgate panel, or read it here with a workspace API token.',
  'agent-runs':
    'Open the clawgate settings from Bitbucket (Workspace settings → Installed apps → clawgate → Configure) and follow “Open the recent agent runs”.',
};

export interface ApiTokenSignIn {
  readonly workspace: string;
  readonly token: string;
}

/**
 * Where "Sign in with Bitbucket" goes: the server's sign-in start, which comes back to this very page
 * (the path only; the server accepts nothing but clawgate pages as a return target).
 */
export function signInHref(
  baseUrl: string,
  workspace: string,
  location: Pick<Location, 'pathname' | 'search'>,
): string {
  const params = new URLSearchParams(location.search);
  params.delete('jwt');
  const query = params.toString();
  const back = `${location.pathname}${query === '' ? '' : `?${query}`}`;
  return `${baseUrl}/signin/bitbucket?${new URLSearchParams({ workspace, return: back }).toString()}`;
}

function SignInWithBitbucket({ baseUrl }: { baseUrl: string }) {
  const headingId = useId();
  const fieldId = useId();
  const [workspace, setWorkspace] = useState('');
  return (
    <section className="cg-section" aria-labelledby={headingId}>
      <h2 id={headingId}>Sign in with Bitbucket</h2>
      <p className="cg-muted">
        For workspaces connected with repository webhooks: Bitbucket tells clawgate who you are and what you may see;
        your Bitbucket token stays on the server.
      </p>
      <form
        className="cg-inline-form"
        aria-label="Sign in with Bitbucket"
        onSubmit={(event) => {
          event.preventDefault();
          if (workspace.trim() !== '') window.location.assign(signInHref(baseUrl, workspace.trim(), window.location));
        }}
      >
        <div className="cg-field">
          <label htmlFor={fieldId}>Bitbucket workspace</label>
          <Textfield
            id={fieldId}
            value={workspace}
            autoComplete="off"
            onChange={(event) => setWorkspace(event.currentTarget.value)}
          />
        </div>
        <Button type="submit" appearance="primary" isDisabled={workspace.trim() === ''}>
          Sign in with Bitbucket
        </Button>
      </form>
    </section>
  );
}

export function AuthRequired({
  page,
  problem,
  baseUrl,
  onApiToken,
}: {
  page: PageName;
  problem: AuthProblem;
  baseUrl?: string;
  onApiToken?: (signIn: ApiTokenSignIn) => void;
}) {
  const headingId = useId();
  const workspaceId = useId();
  const tokenId = useId();
  const [workspace, setWorkspace] = useState('');
  const [token, setToken] = useState('');
  return (
    <main className="cg-page" aria-labelledby="cg-auth-title">
      <h1 id="cg-auth-title">Sign-in needed</h1>
      <div data-testid="auth-required" data-problem={problem}>
        <SectionMessage
          appearance="warning"
          title={
            problem === 'expired'
              ? 'This link has expired'
              : problem === 'forbidden'
                ? 'Workspace admins only'
                : 'clawgate cannot show this page yet'
          }
        >
          <p>{PROBLEM_TEXT[problem]}</p>
          {problem === 'forbidden' ? null : <p>{WHAT_TO_DO[page]}</p>}
        </SectionMessage>
      </div>
      {page !== 'pr-panel' && problem !== 'forbidden' && baseUrl !== undefined ? (
        <SignInWithBitbucket baseUrl={baseUrl} />
      ) : null}
      {page === 'details' && onApiToken !== undefined ? (
        <section className="cg-section" aria-labelledby={headingId}>
          <h2 id={headingId}>Read with a workspace API token</h2>
          <p className="cg-muted">The token stays in this tab’s memory and is sent only to clawgate.</p>
          <Form
            label="Read the verdict with a workspace API token"
            formProps={{ className: 'cg-inline-form' }}
            onSubmit={() => {
              if (workspace.trim() !== '' && token.trim() !== '')
                onApiToken({ workspace: workspace.trim(), token: token.trim() });
            }}
          >
            <div className="cg-field">
              <Label htmlFor={workspaceId}>Workspace (slug)</Label>
              <Textfield
                id={workspaceId}
                value={workspace}
                autoComplete="off"
                onChange={(event) => setWorkspace(event.currentTarget.value)}
              />
            </div>
            <div className="cg-field">
              <Label htmlFor={tokenId}>API token</Label>
              <Textfield
                id={tokenId}
                type="password"
                value={token}
                autoComplete="off"
                placeholder="cgw_…"
                onChange={(event) => setToken(event.currentTarget.value)}
              />
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
