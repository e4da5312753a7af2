import { useEffect, useState, type ReactNode } from 'react';
import type { Assignment } from '../client/api-schemas';
import type { ClawgateClient, VersionedSettings } from '../client/clawgate-client';
import { ErrorNotice } from '../components/ErrorNotice';
import { HostNotice } from '../components/HostNotice';
import { Loading } from '../components/Loading';
import type { HostPresence } from '../host/host-bridge';
import { useLoad } from '../hooks/use-load';
import { AgentRunsSection } from '../settings/AgentRunsSection';
import { AssignmentsSection } from '../settings/AssignmentsSection';
import { AuditSection } from '../settings/AuditSection';
import { IncidentNotice } from '../settings/IncidentNotice';
import { AlertWebhookSection } from '../settings/AlertWebhookSection';
import { OpenIncidentsBanner } from '../settings/OpenIncidentsBanner';
import { KillSwitch } from '../settings/KillSwitch';
import { MergeCheckSection } from '../settings/MergeCheckSection';
import { PoliciesSection } from '../settings/PoliciesSection';
import { TokensSection } from '../settings/TokensSection';
import { WorkspaceSettingsForm } from '../settings/WorkspaceSettingsForm';

/**
 * The settings page (Connect configure page, README.md): blocking checklist, kill switch, policies and
 * their assignments, mode, trust, agent identities, revocations, API tokens and the audit log.
 */

const SECTIONS = [
  ['cg-blocking', 'Blocking'],
  ['cg-kill-switch', 'Kill switch'],
  ['cg-policies', 'Policies'],
  ['cg-assignments', 'Assignments'],
  ['cg-workspace', 'Mode and trust'],
  ['cg-tokens', 'API tokens'],
  ['cg-alerts', 'Alert webhook'],
  ['cg-audit', 'Audit log'],
  ['cg-agent-runs', 'Recent agent runs'],
] as const;

function Section({ id, title, children }: { id: string; title: string; children: ReactNode }) {
  return (
    <section id={id} aria-labelledby={`${id}-title`} className="cg-section">
      <h2 id={`${id}-title`}>{title}</h2>
      {children}
    </section>
  );
}

/** The first assignment that names one repository exactly: a sensible default for the checklist. */
function suggestedRepository(assignments: readonly Assignment[]): string {
  return assignments.find((item) => /^[A-Za-z0-9._-]+\/[A-Za-z0-9._-]+$/.test(item.repo))?.repo ?? '';
}

export interface SettingsPageProps {
  readonly client: ClawgateClient;
  readonly presence: HostPresence;
  readonly sessionExpiresAt: Date | null;
  readonly incident: string | null;
}

export function SettingsPage({ client, presence, sessionExpiresAt, incident }: SettingsPageProps) {
  const settings = useLoad(() => client.getSettings(), 'settings');
  const policies = useLoad(() => client.listPolicies(), 'policies');
  const assignments = useLoad(() => client.getAssignments(), 'assignments');
  const [current, setCurrent] = useState<VersionedSettings | null>(null);
  const [savedAssignments, setSavedAssignments] = useState<readonly Assignment[] | null>(null);

  useEffect(() => {
    if (settings.status === 'ok') setCurrent(settings.value);
  }, [settings]);
  useEffect(() => {
    if (assignments.status === 'ok') setSavedAssignments(assignments.value);
  }, [assignments]);

  return (
    <main className="cg-page" aria-labelledby="cg-settings-title">
      <h1 id="cg-settings-title">clawgate settings</h1>
      <HostNotice
        presence={presence}
        sessionExpiresAt={sessionExpiresAt}
        usable="This is the settings page of the clawgate app in Bitbucket; it works here until its sign-in expires."
      />
      <OpenIncidentsBanner client={client} />
      {incident !== null ? <IncidentNotice client={client} incident={incident} /> : null}
      <nav aria-label="Settings sections" className="cg-toc">
        <ul>
          {SECTIONS.map(([id, title]) => (
            <li key={id}>
              <a href={`#${id}`}>{title}</a>
            </li>
          ))}
        </ul>
      </nav>

      <Section id="cg-blocking" title="Does clawgate block merges?">
        <MergeCheckSection client={client} suggestedRepo={suggestedRepository(savedAssignments ?? [])} />
      </Section>

      <Section id="cg-kill-switch" title="Kill switch">
        {settings.status === 'error' ? (
          <ErrorNotice error={settings.error} title="The settings could not be loaded" />
        ) : current === null ? (
          <Loading label="Loading the settings…" />
        ) : (
          <KillSwitch client={client} current={current} onSaved={setCurrent} />
        )}
      </Section>

      <Section id="cg-policies" title="Policies (Work Policy Contracts)">
        {policies.status === 'loading' ? (
          <Loading label="Loading policies…" />
        ) : policies.status === 'error' ? (
          <ErrorNotice error={policies.error} title="The policies could not be loaded" />
        ) : (
          <PoliciesSection client={client} policies={policies.value} onUploaded={policies.reload} />
        )}
      </Section>

      <Section id="cg-assignments" title="Assignments">
        {assignments.status === 'error' ? (
          <ErrorNotice error={assignments.error} title="The assignments could not be loaded" />
        ) : savedAssignments === null || policies.status !== 'ok' ? (
          <Loading label="Loading assignments…" />
        ) : (
          <AssignmentsSection
            client={client}
            policies={policies.value}
            assignments={savedAssignments}
            onSaved={setSavedAssignments}
          />
        )}
      </Section>

      <Section id="cg-workspace" title="Mode, trust, agents and revocations">
        {settings.status === 'error' ? null : current === null ? (
          <Loading label="Loading the settings…" />
        ) : (
          <WorkspaceSettingsForm client={client} current={current} onSaved={setCurrent} />
        )}
      </Section>

      <Section id="cg-tokens" title="API tokens">
        <TokensSection client={client} />
      </Section>

      <Section id="cg-alerts" title="Alert webhook">
        <AlertWebhookSection client={client} />
      </Section>

      <Section id="cg-audit" title="Audit log">
        <AuditSection client={client} highlight={incident} />
      </Section>

      <Section id="cg-agent-runs" title="Recent agent runs">
        <AgentRunsSection client={client} />
      </Section>
    </main>
  );
}
