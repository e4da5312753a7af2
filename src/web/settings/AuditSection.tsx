import { useState } from 'react';
import type { AuditEvent } from '../client/api-schemas';
import type { ClawgateClient } from '../client/clawgate-client';
import { DownloadButton } from '../components/DownloadButton';
import { ErrorNotice } from '../components/ErrorNotice';
import { Loading } from '../components/Loading';
import { useLoad } from '../hooks/use-load';
import { formatTime } from '../model/words';

const RECENT_DAYS = 7;

/** The incident id an `incident` audit event carries (pipeline/incident-record.ts). */
export function incidentIdOf(event: AuditEvent): string | null {
  const after = event.after;
  return typeof after === 'object' && after !== null && 'incident_id' in after && typeof after.incident_id === 'string' ? after.incident_id : null;
}
const RECENT_LIMIT = 200;

/** The audit log: the last week, newest first, and the whole log for export (JSON Lines or CSV). */
export function AuditSection({ client, highlight }: { client: ClawgateClient; highlight: string | null }) {
  const isHighlighted = (event: AuditEvent): boolean => highlight !== null && (String(event.id) === highlight || incidentIdOf(event) === highlight);
  const [since] = useState(() => new Date(Date.now() - RECENT_DAYS * 24 * 3600 * 1000));
  const events = useLoad(() => client.auditEvents({ since, limit: RECENT_LIMIT }), 'audit');
  return (
    <>
      <div className="cg-actions">
        <DownloadButton label="Export audit log (JSON Lines)" load={() => client.exportAudit('jsonl')} />
        <DownloadButton label="Export audit log (CSV)" load={() => client.exportAudit('csv')} />
      </div>
      {events.status === 'loading' ? (
        <Loading label="Loading the audit log…" />
      ) : events.status === 'error' ? (
        <ErrorNotice error={events.error} title="The audit log could not be loaded" />
      ) : events.value.length === 0 ? (
        <p>No events in the last {RECENT_DAYS} days.</p>
      ) : (
        <>
          <p className="cg-muted">
            {events.value.length === RECENT_LIMIT ? `The first ${RECENT_LIMIT} events` : 'Events'} of the last {RECENT_DAYS} days, newest first; the export has everything.
          </p>
          <div className="cg-table-wrap">
            <table className="cg-table" aria-label="Audit log">
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">What</th>
                  <th scope="col">Who</th>
                  <th scope="col">Subject</th>
                </tr>
              </thead>
              <tbody>
                {[...events.value].reverse().map((event) => (
                  <tr key={event.id} className={isHighlighted(event) ? 'cg-highlight' : undefined}>
                    <td>{formatTime(event.at)}</td>
                    <td>
                      <code className="cg-mono">{event.kind}</code>
                    </td>
                    <td className="cg-mono">{event.actor}</td>
                    <td>
                      <span className="cg-mono">{event.subject ?? ''}</span>
                      {event.repo ? <div className="cg-muted">{event.repo}{event.pr_id ? ` #${event.pr_id}` : ''}</div> : null}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </>
  );
}
