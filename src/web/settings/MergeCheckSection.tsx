import Button from '@atlaskit/button/new';
import Form, { Label } from '@atlaskit/form';
import Lozenge from '@atlaskit/lozenge';
import SectionMessage from '@atlaskit/section-message';
import Textfield from '@atlaskit/textfield';
import { useEffect, useId, useState, type ReactNode } from 'react';
import type { MergeCheckStatus } from '../client/api-schemas';
import type { ClawgateClient } from '../client/clawgate-client';
import { DataTable } from '../components/DataTable';
import { ErrorNotice } from '../components/ErrorNotice';

function Item({ ok, children }: { ok: boolean | null; children: ReactNode }) {
  return (
    <li className="cg-checklist-item" data-ok={ok === null ? 'unknown' : String(ok)}>
      {ok === null ? (
        <Lozenge>unknown</Lozenge>
      ) : ok ? (
        <Lozenge appearance="success">yes</Lozenge>
      ) : (
        <Lozenge appearance="removed">no</Lozenge>
      )}{' '}
      {children}
    </li>
  );
}

/**
 * The blocking checklist (README.md): does the destination branch require passing builds (read from
 * branch restrictions), a button to add that merge check, and the plain truth about what blocks a merge.
 */
export function MergeCheckSection({ client, suggestedRepo }: { client: ClawgateClient; suggestedRepo: string }) {
  const repoId = useId();
  const branchId = useId();
  const [repo, setRepo] = useState(suggestedRepo);
  const [branch, setBranch] = useState('');
  const [busy, setBusy] = useState<'check' | 'create' | null>(null);
  const [status, setStatus] = useState<MergeCheckStatus | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [createdNote, setCreatedNote] = useState<string | null>(null);

  // The suggestion arrives with the assignments; it fills the field only while nobody typed in it.
  useEffect(() => {
    setRepo((typed) => (typed === '' ? suggestedRepo : typed));
  }, [suggestedRepo]);

  const slug = repo.includes('/') ? repo.slice(repo.indexOf('/') + 1) : repo;
  const branchArgument = branch.trim() === '' ? undefined : branch.trim();

  const check = (): void => {
    setBusy('check');
    setError(null);
    client.getMergeChecks(slug.trim(), branchArgument).then(
      (answer) => {
        setBusy(null);
        setStatus(answer);
      },
      (failure: unknown) => {
        setBusy(null);
        setStatus(null);
        setError(failure);
      },
    );
  };

  const create = (): void => {
    setBusy('create');
    setError(null);
    client.createMergeCheck(slug.trim(), status?.branch ?? branchArgument).then(
      (answer) => {
        setCreatedNote(
          answer.created
            ? `Added: pull requests into ${answer.branch} now need a passing build.`
            : `${answer.branch} already required passing builds.`,
        );
        check();
      },
      (failure: unknown) => {
        setBusy(null);
        setError(failure);
      },
    );
  };

  const requires = status?.readable === true ? (status.require_passing_builds?.present ?? false) : null;
  const enforced = status?.readable === true ? (status.enforce_merge_checks?.present ?? false) : null;

  return (
    <>
      <SectionMessage appearance="warning" title="What actually blocks a merge">
        <p>
          clawgate posts a build status on every agent pull request. Only Bitbucket Premium prevents a merge: with
          enforced merge checks (“Prevent a merge with unresolved merge checks”), or with clawgate’s Forge merge check
          set to Required. On other plans a FAILED clawgate status or a failing check is only a warning next to the
          Merge button, so agents must not hold merge rights.
        </p>
      </SectionMessage>
      <ForgeMergeCheckGuide />
      <Form label="Check a repository's merge checks" formProps={{ className: 'cg-inline-form' }} onSubmit={check}>
        <div className="cg-field">
          <Label htmlFor={repoId}>Repository</Label>
          <Textfield
            id={repoId}
            value={repo}
            placeholder="workspace/repo or repo"
            onChange={(event) => setRepo(event.currentTarget.value)}
          />
        </div>
        <div className="cg-field">
          <Label htmlFor={branchId}>Destination branch (empty: the main branch)</Label>
          <Textfield
            id={branchId}
            value={branch}
            placeholder="main"
            onChange={(event) => setBranch(event.currentTarget.value)}
          />
        </div>
        <Button type="submit" isLoading={busy === 'check'} isDisabled={slug.trim() === ''}>
          Check merge checks
        </Button>
      </Form>
      {error !== null ? <ErrorNotice error={error} /> : null}
      {createdNote !== null ? (
        <p role="status" className="cg-muted">
          {createdNote}
        </p>
      ) : null}
      {status !== null ? (
        <div className="cg-checklist" aria-live="polite">
          <h3>
            {status.repository}
            {status.branch !== null ? ` → ${status.branch}` : ''}
          </h3>
          {!status.readable ? (
            <SectionMessage appearance="information" title="clawgate cannot read this repository’s branch restrictions">
              <p>{status.problem?.message ?? 'Bitbucket did not answer.'}</p>
              <p>
                Check by hand: Repository settings → Branch restrictions → the destination branch → Merge settings →
                “Minimum number of successful builds for the last commit with no failed builds and no in-progress
                builds”.
              </p>
            </SectionMessage>
          ) : null}
          <ul className="cg-checklist-items">
            <Item ok={requires}>
              Pull requests into {status.branch ?? 'the branch'} need a passing build (counts clawgate’s status)
            </Item>
            <Item ok={enforced}>Merge checks are enforced (Premium: prevent a merge with unresolved merge checks)</Item>
          </ul>
          {status.readable && requires === false ? (
            <Button appearance="primary" isLoading={busy === 'create'} onClick={create}>
              Require passing builds on {status.branch ?? 'this branch'}
            </Button>
          ) : null}
          {status.readable && status.blocking === 'warning_only' ? (
            <p>
              Merges are warned about but not prevented unless the workspace is on Premium with merge checks enforced.
            </p>
          ) : null}
          {status.readable && status.blocking === 'enforced_if_premium' ? (
            <p>On Premium, a merge is prevented while clawgate’s status is not SUCCESSFUL.</p>
          ) : null}
        </div>
      ) : null}
    </>
  );
}

/**
 * How to turn on clawgate's Forge merge check, per plan (docs/forge.md §3.4–3.5). The check asks
 * clawgate at merge time, so it does not depend on build statuses anyone with write access can post.
 */
function ForgeMergeCheckGuide() {
  return (
    <div className="cg-checklist" aria-label="The Forge merge check, by plan">
      <h3>The clawgate merge check (Forge app)</h3>
      <DataTable
        label="The Forge merge check, by plan"
        head={[
          { key: 'plan', content: 'Plan' },
          { key: 'required', content: 'Can it be Required?' },
          { key: 'how', content: 'How to enable it' },
        ]}
        rows={[
          {
            key: 'premium',
            cells: [
              { content: <strong>Premium</strong> },
              { content: 'Yes: a Required check that does not pass refuses the merge.' },
              {
                content:
                  'Workspace settings → Workflow → Custom merge checks → allow custom merge checks; then add “clawgate verification” at workspace, project or repository level (Repository settings → Workflow → Custom merge checks → Add check) and tick Required.',
              },
            ],
          },
          {
            key: 'free-standard',
            cells: [
              { content: <strong>Free and Standard</strong> },
              { content: 'No, as far as Atlassian documents it (Required appears to be Premium-only; unconfirmed).' },
              {
                content:
                  'Add the check the same way; it runs and shows its answer next to the Merge button, but does not prevent the merge.',
              },
            ],
          },
        ]}
      />
      <p className="cg-muted">
        The check answers from clawgate’s verdict on the pull request’s current head; no verdict, a pending verdict or a
        failing one answers “not passed” with the reason and a link.
      </p>
    </div>
  );
}
