import SectionMessage from '@atlaskit/section-message';
import { useState } from 'react';
import type { ClawgateClient, EvaluationDetail } from '../client/clawgate-client';
import { CheckList } from '../components/CheckList';
import { CriteriaList } from '../components/CriteriaList';
import { DownloadButton } from '../components/DownloadButton';
import { ErrorNotice } from '../components/ErrorNotice';
import { FileProvenanceTable } from '../components/FileProvenanceTable';
import { HostNotice } from '../components/HostNotice';
import { Loading } from '../components/Loading';
import { Mono } from '../components/Mono';
import { PolicyAndToken } from '../components/PolicyAndToken';
import { PolicyClauses } from '../components/PolicyClauses';
import { ReceiptsTimeline } from '../components/ReceiptsTimeline';
import { TrustPulseSection } from '../components/TrustPulseSection';
import { VerdictLozenge } from '../components/VerdictLozenge';
import type { HostPresence } from '../host/host-bridge';
import { useLoad } from '../hooks/use-load';
import { agentWorkText, formatTime, MODE_TEXT, reasonText, type Mode } from '../model/words';
import { httpsUrlOrNull } from '../../core/https-url';

/** Which of the three WPC forms the evaluation used (docs/clawsig-profile.md). */
const WPC_FORM_TEXT: Record<string, string> = {
  bitbucket: 'Bitbucket WPC (tool bitbucket_via_official_api)',
  clawsig_v1: 'official Clawsig WPC v1',
  clawsig_v2: 'official Clawsig WPC v2 (statements)',
};

/**
 * The details page (the build status URL, docs/architecture.md §2): the criteria enforced, then the verdict, then
 * per-file provenance; the receipts; downloads of the proof bundle and the verdict JSON.
 */

export type DetailsTarget = { readonly evaluation: string } | { readonly repo: string; readonly pr: number };

export interface DetailsPageProps {
  readonly client: ClawgateClient;
  readonly target: DetailsTarget;
  readonly presence: HostPresence;
  readonly sessionExpiresAt: Date | null;
}

async function loadTarget(client: ClawgateClient, target: DetailsTarget): Promise<EvaluationDetail | null> {
  if ('evaluation' in target) return client.getEvaluation(target.evaluation);
  const [latest] = await client.listEvaluations(target.repo, target.pr, 1);
  return latest === undefined ? null : client.getEvaluation(latest.id);
}

function PolicySection({ client, hash }: { client: ClawgateClient; hash: string }) {
  const policy = useLoad(() => client.getPolicy(hash), hash);
  const [showJson, setShowJson] = useState(false);
  if (policy.status === 'loading') return <Loading label="Loading the policy…" />;
  if (policy.status === 'error') return <ErrorNotice error={policy.error} title="The policy could not be loaded" />;
  return (
    <>
      <PolicyClauses policy={policy.value} />
      <details className="cg-fold" open={showJson} onToggle={(event) => setShowJson(event.currentTarget.open)}>
        <summary>Policy document (JSON)</summary>
        <pre className="cg-json">{JSON.stringify(policy.value.document, null, 2)}</pre>
      </details>
    </>
  );
}

function Details({ client, evaluation }: { client: ClawgateClient; evaluation: EvaluationDetail }) {
  const verdict = evaluation.verdict;
  const policyHash = verdict?.policy?.hash ?? evaluation.policy_hash_b64u;
  const mode = (verdict?.mode ?? evaluation.mode) as Mode;
  // An href built from data: https only (the API filters too; the page does not rely on it).
  const prHref = httpsUrlOrNull(evaluation.pr_url);
  return (
    <>
      <dl className="cg-facts cg-facts-wide cg-subject">
        <dt>Pull request</dt>
        <dd>
          {prHref !== null ? (
            <a className="cg-link" href={prHref} target="_blank" rel="noopener noreferrer">
              {evaluation.repo} #{evaluation.pr_id}
            </a>
          ) : (
            `${evaluation.repo} #${evaluation.pr_id}`
          )}
        </dd>
        <dt>Commit</dt>
        <dd>
          <Mono value={evaluation.head_sha} />
        </dd>
        <dt>Evaluated</dt>
        <dd>
          {formatTime(evaluation.created_at)}
          {verdict?.trigger !== undefined ? ` (${verdict.trigger.replace(/_/g, ' ')})` : ''}
        </dd>
        <dt>Evaluation</dt>
        <dd>
          <Mono value={evaluation.id} />
        </dd>
      </dl>

      <section aria-labelledby="cg-criteria">
        <h2 id="cg-criteria">1. Criteria enforced</h2>
        <p>
          Mode <strong>{mode}</strong>: {MODE_TEXT[mode] ?? ''}
        </p>
        <h3>Work Policy Contract</h3>
        {policyHash === null ? (
          <p>No Work Policy Contract was assigned to this repository; only the proof-bundle criteria applied.</p>
        ) : (
          <>
            <p>
              {verdict?.policy?.id !== undefined ? <strong>{verdict.policy.id} </strong> : null}
              <Mono value={policyHash} />
            </p>
            {verdict?.policy?.form !== undefined ? (
              <p>
                Form: <strong>{WPC_FORM_TEXT[verdict.policy.form] ?? verdict.policy.form}</strong>
                {verdict.policy.signerDid !== undefined ? (
                  <>
                    , signed by <Mono value={verdict.policy.signerDid} />
                  </>
                ) : (
                  ', unsigned'
                )}
              </p>
            ) : null}
            <PolicySection client={client} hash={policyHash} />
          </>
        )}
        <h3>Criteria checked</h3>
        {verdict === null ? (
          <p>This verdict could not be read by this page; download the verdict JSON below.</p>
        ) : (
          <CriteriaList checks={verdict.checks} />
        )}
      </section>

      <section aria-labelledby="cg-verdict">
        <h2 id="cg-verdict">2. Verdict</h2>
        {verdict === null ? null : (
          <>
            <div className="cg-verdict-line">
              <VerdictLozenge state={verdict.state} mode={mode} />
              <span className="cg-reason">{reasonText(verdict.reason_code)}</span>
            </div>
            <p className="cg-muted">Build status: {evaluation.status_state}</p>
            <h3>Why this is agent work</h3>
            {verdict.agent_work.length === 0 ? (
              <p data-testid="cg-agent-work">
                {verdict.state === 'NOT_APPLICABLE'
                  ? 'Not agent work: no registered agent identity opened, wrote or pushed any of its commits, and it names no proof bundle.'
                  : 'Not recorded for this verdict.'}
              </p>
            ) : (
              <ul data-testid="cg-agent-work">
                {verdict.agent_work.map((reason, index) => (
                  <li key={index}>{agentWorkText(reason)}</li>
                ))}
              </ul>
            )}
            <CheckList checks={verdict.checks} label="Failing and waiting checks" />
          </>
        )}
      </section>

      <section aria-labelledby="cg-files">
        <h2 id="cg-files">3. Files</h2>
        {verdict === null ? null : <FileProvenanceTable files={verdict.files} />}
      </section>

      {verdict !== null ? (
        <section aria-labelledby="cg-receipts">
          <h2 id="cg-receipts">4. Receipts</h2>
          <ReceiptsTimeline receipts={verdict.receipts} />
          <h3>Policy and token</h3>
          <PolicyAndToken verdict={verdict} policyHash={evaluation.policy_hash_b64u} />
          <h3 id="cg-pulse">Trust Pulse: self-reported by the agent&apos;s harness</h3>
          <TrustPulseSection pulse={verdict.trust_pulse} />
        </section>
      ) : null}

      <section aria-labelledby="cg-downloads">
        <h2 id="cg-downloads">5. Downloads</h2>
        <dl className="cg-facts cg-facts-wide">
          <dt>Bundle</dt>
          <dd>{evaluation.bundle_id === null ? 'none' : <Mono value={evaluation.bundle_id} />}</dd>
          {evaluation.bundleSha256 !== null ? (
            <>
              <dt>Bundle SHA-256</dt>
              <dd>
                <Mono value={evaluation.bundleSha256} />
              </dd>
            </>
          ) : null}
        </dl>
        <div className="cg-actions">
          {evaluation.bundle_id !== null ? (
            <DownloadButton
              label="Download proof bundle"
              load={() => client.downloadBundle(evaluation.bundle_id ?? '')}
            />
          ) : null}
          <DownloadButton
            label="Download evidence pack"
            appearance="primary"
            load={() => client.downloadEvidence(evaluation.id)}
          />
          <DownloadButton
            label="Download verdict JSON"
            load={() =>
              Promise.resolve({
                fileName: `clawgate-verdict-${evaluation.id}.json`,
                // Exactly the verdict clawgate stored (its `subject` names repository, PR and commit).
                blob: new Blob([`${JSON.stringify(evaluation.verdictJson, null, 2)}\n`], { type: 'application/json' }),
              })
            }
          />
        </div>
        <p className="cg-muted">
          The evidence pack is one signed document (bundle, run manifest, Trust Pulse, token, policy, change set,
          settings and verdict). Check it offline, years later, with{' '}
          <code>clawgate verify FILE --evidence-signer DID</code>, where DID is this deployment&apos;s key from{' '}
          <code>/api/v1/evidence-keys</code>.
        </p>
      </section>
    </>
  );
}

export function DetailsPage({ client, target, presence, sessionExpiresAt }: DetailsPageProps) {
  const key = 'evaluation' in target ? target.evaluation : `${target.repo}#${target.pr}`;
  const loaded = useLoad(() => loadTarget(client, target), key);
  return (
    <main className="cg-page" aria-labelledby="cg-details-title">
      <h1 id="cg-details-title">clawgate verification details</h1>
      <HostNotice
        presence={presence}
        sessionExpiresAt={sessionExpiresAt}
        usable="This page works on its own: everything below comes from clawgate."
      />
      {loaded.status === 'loading' ? (
        <Loading label="Loading the evaluation…" />
      ) : loaded.status === 'error' ? (
        <ErrorNotice error={loaded.error} title="The evaluation could not be loaded" />
      ) : loaded.value === null ? (
        <SectionMessage appearance="information" title="No verdict yet">
          <p>clawgate has not evaluated this pull request yet.</p>
        </SectionMessage>
      ) : (
        <Details client={client} evaluation={loaded.value} />
      )}
    </main>
  );
}
