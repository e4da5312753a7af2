import SectionMessage from '@atlaskit/section-message';
import type { AuditEvent } from '../client/api-schemas';
import type { ClawgateClient } from '../client/clawgate-client';
import { ErrorNotice } from '../components/ErrorNotice';
import { Loading } from '../components/Loading';
import { Mono } from '../components/Mono';
import { useLoad } from '../hooks/use-load';
import { formatTime, reasonText } from '../model/words';
import { incidentIdOf } from './AuditSection';

/** How many recent incidents are searched for the one a status linked to. */
const INCIDENT_SEARCH_LIMIT = 1000;

function text(record: Record<string, unknown>, key: string): string | null {
  const value = record[key];
  return typeof value === 'string' ? value : typeof value === 'number' ? String(value) : null;
}

/**
 * A build status written for an incident (an agent action the WPC does not allow, e.g. a direct push
 * to main) links to the settings page with `?incident=`; this says what happened, in words.
 */
export function IncidentNotice({ client, incident }: { client: ClawgateClient; incident: string }) {
  const events = useLoad(
    () => client.auditEvents({ kinds: ['incident'], limit: INCIDENT_SEARCH_LIMIT }),
    `incident:${incident}`,
  );
  if (events.status === 'loading') return <Loading label="Loading the incident…" />;
  if (events.status === 'error') return <ErrorNotice error={events.error} title="The incident could not be loaded" />;
  const found: AuditEvent | undefined = events.value.find(
    (event) => incidentIdOf(event) === incident || String(event.id) === incident,
  );
  if (found === undefined) {
    return (
      <SectionMessage appearance="warning" title={`Incident ${incident}`}>
        <p>
          A build status linked here for this incident, but it is not among the workspace’s recent incidents (the
          retention policy may have removed it). Export the audit log for the full record.
        </p>
      </SectionMessage>
    );
  }
  const record =
    typeof found.after === 'object' && found.after !== null ? (found.after as Record<string, unknown>) : {};
  const reason = text(record, 'reason_code');
  const actor =
    typeof record.actor === 'object' && record.actor !== null
      ? text(record.actor as Record<string, unknown>, 'display_name')
      : null;
  return (
    <div data-testid="incident" data-incident={incident}>
      <SectionMessage
        appearance="error"
        title={`Incident: ${reason === null ? 'an action the policy does not allow' : reasonText(reason)}`}
      >
        <dl className="cg-facts cg-facts-wide">
          <dt>When</dt>
          <dd>{formatTime(found.at)}</dd>
          <dt>Action</dt>
          <dd>{(text(record, 'action') ?? 'unknown').replace(/_/g, ' ')}</dd>
          <dt>Who</dt>
          <dd>{actor ?? found.actor}</dd>
          <dt>Where</dt>
          <dd>
            <span className="cg-mono">{found.subject ?? found.repo ?? ''}</span>
          </dd>
          {text(record, 'commit') !== null ? (
            <>
              <dt>Commit</dt>
              <dd>
                <Mono value={text(record, 'commit') ?? ''} />
              </dd>
            </>
          ) : null}
          <dt>Build status</dt>
          <dd>{text(record, 'status_state') ?? 'none written'}</dd>
        </dl>
      </SectionMessage>
    </div>
  );
}
