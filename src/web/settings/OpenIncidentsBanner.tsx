import SectionMessage from '@atlaskit/section-message';
import type { ClawgateClient } from '../client/clawgate-client';
import { useLoad } from '../hooks/use-load';
import { formatTime } from '../model/words';

/** How many incidents and alerts the banner names before it says "and N more". */
const SHOWN = 5;

/**
 * The top-of-page banner: incidents and alerts of the last 7 days (docs/policy.md §8). Quiet when
 * there are none or when they cannot be loaded (the audit section says the rest).
 */
export function OpenIncidentsBanner({ client }: { client: ClawgateClient }) {
  const overview = useLoad(() => client.listAlerts(7), 'alerts-banner');
  if (overview.status !== 'ok') return null;
  const { incidents, alerts } = overview.value;
  const otherAlerts = alerts.filter((alert) => alert.kind !== 'incident');
  const undelivered = alerts.filter((alert) => alert.state === 'failed' || alert.state === 'dropped').length;
  if (incidents.length === 0 && otherAlerts.length === 0) return null;
  return (
    <div data-testid="open-incidents">
      <SectionMessage
        appearance="error"
        title={`${incidents.length} incident${incidents.length === 1 ? '' : 's'} and ${otherAlerts.length} alert${otherAlerts.length === 1 ? '' : 's'} in the last 7 days`}
      >
        <ul>
          {incidents.slice(0, SHOWN).map((incident) => (
            <li key={incident.incident_id}>
              <a href={`?incident=${encodeURIComponent(incident.incident_id)}`}>{incident.action.replace(/_/g, ' ')}</a>{' '}
              in <span className="cg-mono">{incident.repo}</span>
              {incident.pr_id !== null ? ` (PR #${incident.pr_id})` : ''}, {formatTime(incident.created_at)}
            </li>
          ))}
          {otherAlerts.slice(0, SHOWN).map((alert) => (
            <li key={alert.alert_id}>
              {alert.subject}, {formatTime(alert.created_at)}
            </li>
          ))}
        </ul>
        {incidents.length > SHOWN ? <p>and {incidents.length - SHOWN} more incidents (see the audit log).</p> : null}
        {undelivered > 0 ? <p>{undelivered} alert(s) could not be delivered to the alert webhook.</p> : null}
      </SectionMessage>
    </div>
  );
}
