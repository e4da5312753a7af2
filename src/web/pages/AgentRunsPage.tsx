import Lozenge from '@atlaskit/lozenge';
import type { AgentRun } from '../client/api-schemas';
import type { ClawgateClient } from '../client/clawgate-client';
import { DataTable, rowAttributes, type RowType } from '../components/DataTable';
import { DownloadButton } from '../components/DownloadButton';
import { ErrorNotice } from '../components/ErrorNotice';
import { HostNotice } from '../components/HostNotice';
import { Loading } from '../components/Loading';
import { VerdictLozenge } from '../components/VerdictLozenge';
import type { HostPresence } from '../host/host-bridge';
import { useLoad } from '../hooks/use-load';
import { formatDuration, TRUST_PULSE_STATUS, trustPulseProblemText } from '../model/trust-pulse-words';
import { formatTime, reasonText, shortId } from '../model/words';

/**
 * The central review place for agent work (issue 12): the workspace's recent agent runs, newest first —
 * each PR's verdict beside what the agent's harness self-reported (Trust Pulse: tools, duration, and
 * how it compares with the diff), with the signed evidence pack one click away.
 */

function PulseCell({ run }: { run: AgentRun }) {
  const p = run.trust_pulse;
  const words = TRUST_PULSE_STATUS[p.status];
  const problem = trustPulseProblemText(p.problem);
  const flags: string[] = [];
  if (p.reported_denied > 0)
    flags.push(`${p.reported_denied} denied path${p.reported_denied === 1 ? '' : 's'} reported`);
  if (p.unreported_diff_paths > 0)
    flags.push(`${p.unreported_diff_paths} changed file${p.unreported_diff_paths === 1 ? '' : 's'} not reported`);
  if (p.reported_not_in_diff > 0)
    flags.push(`${p.reported_not_in_diff} reported file${p.reported_not_in_diff === 1 ? '' : 's'} not in the diff`);
  if (p.redacted > 0) flags.push(`${p.redacted} redacted`);
  return (
    <div className="cg-run-pulse" data-pulse-status={p.status}>
      <Lozenge appearance={words.appearance}>{words.text}</Lozenge>
      {problem !== null ? <div className="cg-muted">{problem}</div> : null}
      {p.status !== 'absent' ? (
        <div className="cg-run-tools">
          {p.tools.length === 0 ? 'no tools reported' : p.tools.map((t) => `${t.name} ×${t.calls}`).join(', ')}
          {' · '}
          {formatDuration(p.duration_ms)}
        </div>
      ) : null}
      {flags.length > 0 ? <div className="cg-run-flags">{flags.join('; ')}</div> : null}
    </div>
  );
}

/** Runs per page of the table (the review page loads 50, the settings page 10). */
const RUNS_PER_PAGE = 20;

export function AgentRunsTable({ client, runs }: { client: ClawgateClient; runs: readonly AgentRun[] }) {
  if (runs.length === 0)
    return <p>No agent runs yet: clawgate lists a pull request here once it has evaluated agent work on it.</p>;
  const rows: RowType[] = runs.map((run) => ({
    key: run.id,
    ...rowAttributes({ 'data-run': run.id }),
    cells: [
      { key: run.created_at, content: formatTime(run.created_at) },
      {
        key: `${run.repo}#${String(run.pr_id).padStart(10, '0')}`,
        content: run.pr_url ? (
          <a className="cg-link" href={run.pr_url} target="_blank" rel="noopener noreferrer">
            {run.repo} #{run.pr_id}
          </a>
        ) : (
          `${run.repo} #${run.pr_id}`
        ),
      },
      {
        key: run.state,
        content: (
          <>
            <VerdictLozenge state={run.state} mode={run.mode} />
            {run.reason_code !== null && run.reason_code !== 'OK' ? (
              <div className="cg-muted">{reasonText(run.reason_code)}</div>
            ) : null}
          </>
        ),
      },
      {
        key: run.agent_did ?? '',
        content: run.agent_did !== null ? <code title={run.agent_did}>{shortId(run.agent_did, 18)}</code> : 'unknown',
      },
      { content: <PulseCell run={run} /> },
      { content: <DownloadButton label="Evidence pack" load={() => client.downloadEvidence(run.id)} /> },
    ],
  }));
  return (
    <DataTable
      className="cg-runs"
      caption="Recent agent runs, newest first until sorted by a column"
      head={[
        { key: 'when', content: 'When', isSortable: true },
        { key: 'pr', content: 'Pull request', isSortable: true },
        { key: 'verdict', content: 'Verdict', isSortable: true },
        { key: 'agent', content: 'Agent', isSortable: true },
        { key: 'pulse', content: 'Trust Pulse (self-reported)' },
        { key: 'evidence', content: 'Evidence' },
      ]}
      rows={rows}
      rowsPerPage={runs.length > RUNS_PER_PAGE ? RUNS_PER_PAGE : undefined}
      testId="cg-agent-runs-table"
    />
  );
}

export function AgentRunsPage({
  client,
  presence,
  sessionExpiresAt,
}: {
  client: ClawgateClient;
  presence: HostPresence;
  sessionExpiresAt: Date | null;
}) {
  const runs = useLoad(() => client.listAgentRuns(50), 'agent-runs');
  return (
    <main className="cg-page" aria-labelledby="cg-runs-title">
      <h1 id="cg-runs-title">Recent agent runs</h1>
      <HostNotice
        presence={presence}
        sessionExpiresAt={sessionExpiresAt}
        usable="This page works on its own: everything below comes from clawgate."
      />
      <p className="cg-muted">
        What each agent did, as its harness reported it (Trust Pulse), beside the verdict clawgate gave its pull
        request. A pulse is never proof: the verdict rests on the signed bundle and the diff.
      </p>
      {runs.status === 'loading' ? (
        <Loading label="Loading the agent runs…" />
      ) : runs.status === 'error' ? (
        <ErrorNotice error={runs.error} title="The agent runs could not be loaded" />
      ) : (
        <AgentRunsTable client={client} runs={runs.value} />
      )}
    </main>
  );
}
