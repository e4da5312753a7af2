import { useState } from 'react';
import type { AuditEvent } from '../client/api-schemas';
import type { ClawgateClient } from '../client/clawgate-client';
import { DataTable, rowAttributes, type RowType } from '../components/DataTable';
import { DownloadButton } from '../components/DownloadButton';
import { ErrorNotice } from '../components/ErrorNotice';
import { Loading } from '../components/Loading';
import { useLoad } from '../hooks/use-load';
import { formatTime } from '../model/words';

const RECENT_DAYS = 7;

/** The incident id an `incident` audit event carries (pipeline/incident-record.ts). */
export function incidentIdOf(event: AuditEvent): string | null {
  const after = event.after;
  return typeof after === 'object' && after !== null && 'incident_id' in after && typeof after.incident_id === 'string'
    ? after.incident_id
    : null;
}
const RECENT_LIMIT = 200;

/** Audit events per page of the table. */
export const AUDIT_ROWS_PER_PAGE = 25;

/**
 * The recent events, newest first, sortable by when, what and who, a page at a time; a highlighted
 * event (the incident a build status linked to) is on the page shown first.
 */
function AuditTable({
  events,
  isHighlighted,
}: {
  events: readonly AuditEvent[];
  isHighlighted: (event: AuditEvent) => boolean;
}) {
  const newestFirst = [...events].reverse();
  const highlighted = newestFirst.findIndex(isHighlighted);
  const rows: RowType[] = newestFirst.map((event) => ({
    key: String(event.id),
    ...rowAttributes(
      { 'data-audit-id': String(event.id), 'data-kind': event.kind },
      isHighlighted(event) ? 'cg-highlight' : undefined,
    ),
    cells: [
      { key: event.at, content: formatTime(event.at) },
      { key: event.kind, content: <code className="cg-mono">{event.kind}</code> },
      { key: event.actor, content: <span className="cg-mono">{event.actor}</span> },
      {
        content: (
          <>
            <span className="cg-mono">{event.subject ?? ''}</span>
            {event.repo ? (
              <div className="cg-muted">
                {event.repo}
                {event.pr_id ? ` #${event.pr_id}` : ''}
              </div>
            ) : null}
          </>
        ),
      },
    ],
  }));
  return (
    <DataTable
      label="Audit log"
      head={[
        { key: 'when', content: 'When', isSortable: true },
        { key: 'what', content: 'What', isSortable: true },
        { key: 'who', content: 'Who', isSortable: true },
        { key: 'subject', content: 'Subject' },
      ]}
      rows={rows}
      rowsPerPage={AUDIT_ROWS_PER_PAGE}
      defaultPage={highlighted < 0 ? 1 : Math.floor(highlighted / AUDIT_ROWS_PER_PAGE) + 1}
      testId="cg-audit-table"
    />
  );
}

/** The audit log: the last week, newest first, and the whole log for export (JSON Lines or CSV). */
export function AuditSection({ client, highlight }: { client: ClawgateClient; highlight: string | null }) {
  const isHighlighted = (event: AuditEvent): boolean =>
    highlight !== null && (String(event.id) === highlight || incidentIdOf(event) === highlight);
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
            {events.value.length === RECENT_LIMIT ? `The first ${RECENT_LIMIT} events` : 'Events'} of the last{' '}
            {RECENT_DAYS} days, newest first; the export has everything.
          </p>
          <AuditTable events={events.value} isHighlighted={isHighlighted} />
        </>
      )}
    </>
  );
}
