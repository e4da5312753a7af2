import type { ClawgateClient } from '../client/clawgate-client';
import { ErrorNotice } from '../components/ErrorNotice';
import { Loading } from '../components/Loading';
import { useLoad } from '../hooks/use-load';
import { AgentRunsTable } from '../pages/AgentRunsPage';

/** The last few agent runs on the settings page, and a link to the full review page (a new tab). */
export function AgentRunsSection({ client }: { client: ClawgateClient }) {
  const runs = useLoad(() => client.listAgentRuns(10), 'agent-runs-recent');
  const link = useLoad(() => client.agentRunsLink(), 'agent-runs-link');
  return (
    <>
      {link.status === 'ok' && link.value !== null ? (
        <p>
          <a className="cg-link" href={link.value.url} target="_blank" rel="noopener noreferrer">
            Open the recent agent runs
          </a>{' '}
          (all runs, in a new tab)
        </p>
      ) : null}
      {runs.status === 'loading' ? (
        <Loading label="Loading the agent runs…" />
      ) : runs.status === 'error' ? (
        <ErrorNotice error={runs.error} title="The agent runs could not be loaded" />
      ) : (
        <AgentRunsTable client={client} runs={runs.value} />
      )}
    </>
  );
}
