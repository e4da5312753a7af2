import Button from '@atlaskit/button/new';
import SectionMessage from '@atlaskit/section-message';
import { useEffect, useRef, useState } from 'react';
import type { ClawgateClient, EvaluationDetail, PageLink } from '../client/clawgate-client';
import { CheckList } from '../components/CheckList';
import { ErrorNotice } from '../components/ErrorNotice';
import { HostNotice } from '../components/HostNotice';
import { Loading } from '../components/Loading';
import { Mono } from '../components/Mono';
import { PolicyAndToken } from '../components/PolicyAndToken';
import { ReceiptsTimeline } from '../components/ReceiptsTimeline';
import { TrustPulseSection } from '../components/TrustPulseSection';
import { VerdictLozenge } from '../components/VerdictLozenge';
import type { HostPresence } from '../host/host-bridge';
import { formatTime, MODE_TEXT, reasonText, type Mode } from '../model/words';

/**
 * The PR panel (Connect web panel on the PR overview, docs/architecture.md §2): the verdict, failing checks first,
 * the receipts timeline, the policy and token in brief, the bundle with a link to its details, and a
 * re-check. States: no verdict yet (evaluating), not an agent PR, no bundle found, clawgate error.
 */

const POLL_MS = 2500;
/** Stop polling for a verdict after this long; the user can re-check or reload. */
const POLL_LIMIT_MS = 3 * 60 * 1000;
/** Ask for a fresh details link this long before the current one expires. */
const LINK_REFRESH_MARGIN_MS = 2 * 60 * 1000;

type PanelState =
  | { readonly kind: 'loading' }
  | { readonly kind: 'none' }
  | { readonly kind: 'evaluated'; readonly evaluation: EvaluationDetail }
  | { readonly kind: 'error'; readonly error: unknown };

export interface PrPanelProps {
  readonly client: ClawgateClient;
  readonly repo: string | null;
  readonly pr: number;
  readonly problem: string | null;
  readonly presence: HostPresence;
  readonly sessionExpiresAt: Date | null;
}

function useDetailsLink(client: ClawgateClient, evaluationId: string | null): PageLink | null {
  const [link, setLink] = useState<PageLink | null>(null);
  useEffect(() => {
    setLink(null);
    if (evaluationId === null) return undefined;
    let timer: number | undefined;
    let stopped = false;
    const fetchLink = (): void => {
      client.detailsLink(evaluationId).then(
        (next) => {
          if (stopped) return;
          setLink(next);
          if (next !== null)
            timer = window.setTimeout(
              fetchLink,
              Math.max(10_000, next.expiresAt.getTime() - Date.now() - LINK_REFRESH_MARGIN_MS),
            );
        },
        () => {
          if (!stopped) timer = window.setTimeout(fetchLink, 30_000);
        },
      );
    };
    fetchLink();
    return () => {
      stopped = true;
      window.clearTimeout(timer);
    };
  }, [client, evaluationId]);
  return link;
}

function StateMessage({ evaluation }: { evaluation: EvaluationDetail }) {
  const verdict = evaluation.verdict;
  if (verdict === null) return null;
  if (verdict.state === 'NOT_APPLICABLE') {
    return (
      <SectionMessage appearance="information" title="Not an agent pull request">
        <p>
          clawgate found no proof bundle and the author is not a registered agent identity, so it checked nothing here.
          Its build status on this PR is SUCCESSFUL.
        </p>
      </SectionMessage>
    );
  }
  // The engine's reason is the first failing check in rule order; the missing bundle is the cause of
  // the others (no token, no receipts), so it decides the state wherever it appears.
  const failed = (code: string): boolean =>
    verdict.reason_code === code || verdict.checks.some((check) => check.outcome === 'fail' && check.code === code);
  if (failed('BUNDLE_NOT_FOUND')) {
    return (
      <SectionMessage appearance="warning" title="No proof bundle found">
        <p>
          This looks like an agent pull request, but clawgate found no proof bundle for it. The agent pipeline attaches
          one by uploading it to clawgate and naming it in the PR description with a line{' '}
          <code className="cg-mono">Proof-Bundle: bundle_…</code>, or by committing it as{' '}
          <code className="cg-mono">.clawsig/proof_bundle.json</code>.
        </p>
      </SectionMessage>
    );
  }
  if (failed('CLAWGATE_ERROR')) {
    return (
      <SectionMessage appearance="error" title="clawgate error">
        <p>
          clawgate could not complete the evaluation of this pull request, so it fails closed. Re-check it; if it fails
          again, tell your clawgate administrator.
        </p>
      </SectionMessage>
    );
  }
  return null;
}

function Verdict({ evaluation, link }: { evaluation: EvaluationDetail; link: PageLink | null }) {
  const verdict = evaluation.verdict;
  if (verdict === null) {
    return <ErrorNotice error={new Error('unreadable verdict')} title="This verdict could not be read by this page" />;
  }
  const mode = verdict.mode as Mode;
  return (
    <>
      <div className="cg-verdict-line">
        <VerdictLozenge state={verdict.state} mode={mode} />
        <span className="cg-reason">{reasonText(verdict.reason_code)}</span>
      </div>
      <p className="cg-muted cg-small">{MODE_TEXT[mode]}</p>
      <StateMessage evaluation={evaluation} />
      {verdict.state !== 'NOT_APPLICABLE' ? (
        <>
          <section aria-labelledby="cg-panel-checks">
            <h2 id="cg-panel-checks">Checks</h2>
            <CheckList checks={verdict.checks} label="Failing and waiting checks" />
          </section>
          <section aria-labelledby="cg-panel-pulse">
            <h2 id="cg-panel-pulse">Trust Pulse</h2>
            <TrustPulseSection pulse={verdict.trust_pulse} compact />
          </section>
          <section aria-labelledby="cg-panel-receipts">
            <h2 id="cg-panel-receipts">Receipts</h2>
            <ReceiptsTimeline receipts={verdict.receipts} />
          </section>
          <section aria-labelledby="cg-panel-policy">
            <h2 id="cg-panel-policy">Policy and token</h2>
            <PolicyAndToken verdict={verdict} policyHash={evaluation.policy_hash_b64u} />
          </section>
        </>
      ) : null}
      <section aria-labelledby="cg-panel-bundle">
        <h2 id="cg-panel-bundle">Bundle</h2>
        <dl className="cg-facts cg-facts-wide">
          <dt>Bundle id</dt>
          <dd>{evaluation.bundle_id === null ? 'none' : <Mono value={evaluation.bundle_id} />}</dd>
          <dt>Evaluated</dt>
          <dd>
            {formatTime(evaluation.created_at)} at <Mono value={evaluation.head_sha.slice(0, 12)} />
          </dd>
        </dl>
        {link !== null ? (
          <p>
            <a className="cg-link" href={link.url} target="_blank" rel="noopener noreferrer">
              Open the details of this verdict
            </a>
          </p>
        ) : null}
      </section>
    </>
  );
}

/** Bitbucket could not tell clawgate which repository the panel is on (see repository-names.ts). */
export function RepositoryUnknown({ problem }: { problem: string | null }) {
  return (
    <SectionMessage appearance="error" title="clawgate error: this repository could not be identified">
      <p>
        clawgate asked Bitbucket for this repository’s name and got no answer, so it cannot look up the verdict. Reload
        the page in a minute; if it persists, tell your clawgate administrator.
      </p>
      {problem !== null ? <p className="cg-muted cg-mono">{problem}</p> : null}
    </SectionMessage>
  );
}

export function PrPanel({ client, repo, pr, problem, presence, sessionExpiresAt }: PrPanelProps) {
  const [state, setState] = useState<PanelState>({ kind: 'loading' });
  const [recheck, setRecheck] = useState<{ status: 'idle' | 'requesting' | 'waiting' | 'failed'; error?: unknown }>({
    status: 'idle',
  });
  const [pollUntil, setPollUntil] = useState(() => Date.now() + POLL_LIMIT_MS);
  const latestId = useRef<string | null>(null);
  const waitingAfter = useRef<string | null | undefined>(undefined);

  useEffect(() => {
    if (repo === null) return undefined;
    let stopped = false;
    let timer: number | undefined;
    const load = async (): Promise<void> => {
      try {
        const [latest] = await client.listEvaluations(repo, pr, 1);
        if (stopped) return;
        if (latest === undefined) {
          setState({ kind: 'none' });
        } else if (latest.id !== latestId.current) {
          const evaluation = await client.getEvaluation(latest.id);
          if (stopped) return;
          latestId.current = latest.id;
          setState({ kind: 'evaluated', evaluation });
        }
        const waitingForRecheck = waitingAfter.current !== undefined && waitingAfter.current === (latest?.id ?? null);
        if (!waitingForRecheck && waitingAfter.current !== undefined) {
          waitingAfter.current = undefined;
          setRecheck({ status: 'idle' });
        }
        // Poll while there is no verdict yet, while it waits (an approval re-evaluates the PR), or
        // while a re-check has not produced a new one.
        if ((latest === undefined || latest.state === 'PENDING' || waitingForRecheck) && Date.now() < pollUntil)
          timer = window.setTimeout(() => void load(), POLL_MS);
      } catch (error) {
        if (!stopped) setState({ kind: 'error', error });
      }
    };
    void load();
    return () => {
      stopped = true;
      window.clearTimeout(timer);
    };
  }, [client, repo, pr, pollUntil]);

  const evaluationId = state.kind === 'evaluated' ? state.evaluation.id : null;
  const link = useDetailsLink(client, evaluationId);

  const requestRecheck = (): void => {
    if (repo === null) return;
    setRecheck({ status: 'requesting' });
    client.recheck(repo, pr).then(
      () => {
        waitingAfter.current = latestId.current;
        setRecheck({ status: 'waiting' });
        setPollUntil(Date.now() + POLL_LIMIT_MS);
      },
      (error: unknown) => setRecheck({ status: 'failed', error }),
    );
  };

  return (
    <main className="cg-panel" aria-label="clawgate verdict for this pull request">
      <HostNotice
        presence={presence}
        sessionExpiresAt={sessionExpiresAt}
        usable="This panel belongs on a pull request in Bitbucket. It still shows the latest verdict while its sign-in lasts."
      />
      {repo === null ? (
        <RepositoryUnknown problem={problem} />
      ) : state.kind === 'loading' ? (
        <Loading label="Loading the clawgate verdict…" />
      ) : state.kind === 'error' ? (
        <ErrorNotice error={state.error} title="clawgate error: the verdict could not be loaded" />
      ) : state.kind === 'none' ? (
        <SectionMessage appearance="information" title="Evaluation in progress">
          <p>
            clawgate has no verdict for this pull request yet: it is evaluating it, or has not heard of it. This panel
            looks again by itself; its build status stays INPROGRESS until the verdict is in.
          </p>
        </SectionMessage>
      ) : (
        <Verdict evaluation={state.evaluation} link={link} />
      )}
      {repo !== null ? (
        <div className="cg-actions">
          <Button
            onClick={requestRecheck}
            isLoading={recheck.status === 'requesting'}
            isDisabled={recheck.status === 'waiting'}
          >
            Re-check
          </Button>
          <span role="status" className="cg-muted">
            {recheck.status === 'waiting' ? 'Re-check requested; waiting for the new verdict…' : ''}
          </span>
        </div>
      ) : null}
      {recheck.status === 'failed' ? (
        <ErrorNotice error={recheck.error} title="The re-check could not be requested" />
      ) : null}
    </main>
  );
}
