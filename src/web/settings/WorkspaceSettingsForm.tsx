import Button from '@atlaskit/button/new';
import Form, { HelperMessage, Label } from '@atlaskit/form';
import SectionMessage from '@atlaskit/section-message';
import Textfield from '@atlaskit/textfield';
import { useId } from 'react';
import type { Settings } from '../client/api-schemas';
import type { ClawgateClient, VersionedSettings } from '../client/clawgate-client';
import { ChoiceSelect } from '../components/ChoiceSelect';
import { ErrorNotice } from '../components/ErrorNotice';
import { useDraft } from '../hooks/use-draft';
import { MODE_TEXT } from '../model/words';
import { RowsEditor } from './RowsEditor';
import { draftOf, REVOCATION_LISTS, settingsOf, type SettingsDraft } from './settings-draft';

const MODES: readonly Settings['mode'][] = ['observe', 'warn', 'enforce'];

const draftOfVersioned = (current: VersionedSettings): SettingsDraft => draftOf(current.settings);

/** Mode, trust (gateways, issuers), agent identities and revocations: edited together, saved together. */
export function WorkspaceSettingsForm({
  client,
  current,
  onSaved,
}: {
  client: ClawgateClient;
  current: VersionedSettings;
  onSaved: (saved: VersionedSettings) => void;
}) {
  const modeId = useId();
  const missionId = useId();
  // A save elsewhere (the kill switch) changes `current`; an untouched form follows it.
  const { draft, dirty, saving, result, change, discard, save: saveWith } = useDraft(current, draftOfVersioned);

  const revocationCount = REVOCATION_LISTS.reduce((total, list) => total + draft.revocations[list.key].length, 0);

  const save = (): void =>
    saveWith((edited) => client.saveSettings(settingsOf(edited, current.settings.frozen), current.version), onSaved);

  return (
    <Form label="Workspace settings" formProps={{ className: 'cg-settings-form' }} onSubmit={save}>
      <div className="cg-field">
        <Label htmlFor={modeId}>Mode</Label>
        <ChoiceSelect
          inputId={modeId}
          testId="cg-mode-select"
          options={MODES.map((mode) => ({ value: mode, label: mode }))}
          value={draft.mode}
          onChange={(mode) => change({ ...draft, mode })}
        />
        <HelperMessage>{MODE_TEXT[draft.mode]} An assignment may set its own mode for some repositories.</HelperMessage>
      </div>
      <div className="cg-field">
        <Label htmlFor={missionId}>Mission id pattern (optional)</Label>
        <Textfield
          id={missionId}
          value={draft.missionIdPattern}
          placeholder="{repository}#*"
          onChange={(event) => change({ ...draft, missionIdPattern: event.currentTarget.value })}
        />
        <HelperMessage>
          Empty: a scoped token's mission_id is an opaque correlation id, recorded and shown. Set: it must be present
          and match ('*' any text; {'{repository}'}, {'{workspace}'}, {'{repo_slug}'}).
        </HelperMessage>
      </div>
      <RowsEditor
        title="Trusted gateways"
        noun="gateway"
        description="Gateway receipts count only when signed by one of these keys (Ed25519 did:key). An expiry lets a rotated key stop counting."
        fields={[
          { key: 'did', label: 'Gateway DID', placeholder: 'did:key:z6Mk…' },
          { key: 'expires_at', label: 'Trusted until', placeholder: '2027-01-01T00:00:00Z', optional: true },
        ]}
        rows={draft.gateways}
        onChange={(gateways) => change({ ...draft, gateways })}
      />
      <RowsEditor
        title="Scoped-token issuers"
        noun="issuer"
        description="Public keys that may sign the agents’ scoped tokens (CSTs): 32-byte Ed25519 keys in base64url."
        fields={[
          { key: 'kid', label: 'Key id', optional: true },
          { key: 'public_key_b64u', label: 'Public key (base64url)', placeholder: '43 characters' },
        ]}
        rows={draft.cstIssuers}
        onChange={(cstIssuers) => change({ ...draft, cstIssuers })}
      />
      <RowsEditor
        title="Policy issuers"
        noun="policy issuer"
        description="DIDs whose signed WPC envelopes this workspace accepts."
        fields={[{ key: 'value', label: 'Issuer DID', placeholder: 'did:key:z6Mk…' }]}
        rows={draft.wpcIssuers}
        onChange={(wpcIssuers) => change({ ...draft, wpcIssuers })}
      />
      <RowsEditor
        title="Agent identities"
        noun="agent"
        description="Bitbucket accounts that are agents; a write agent must bring a bundle signed by its agent DID."
        fields={[
          { key: 'account_uuid', label: 'Account UUID', placeholder: '{d3c1…}' },
          { key: 'role', label: 'Role', options: ['write', 'read'] },
          { key: 'agent_did', label: 'Agent DID', placeholder: 'did:key:z6Mk…', optional: true },
        ]}
        rows={draft.agents}
        onChange={(agents) => change({ ...draft, agents })}
      />
      <details className="cg-fold" open={revocationCount > 0}>
        <summary>Revocations ({revocationCount})</summary>
        <p className="cg-muted">
          Anything listed here fails every evaluation that relies on it: saving re-evaluates the open agent pull
          requests now (newest first).
        </p>
        {REVOCATION_LISTS.map((list) => (
          <RowsEditor
            key={list.key}
            title={list.title}
            noun={list.noun}
            description={`One ${list.label.toLowerCase()} per row.`}
            fields={[{ key: 'value', label: list.label }]}
            rows={draft.revocations[list.key]}
            onChange={(rows) => change({ ...draft, revocations: { ...draft.revocations, [list.key]: rows } })}
          />
        ))}
      </details>
      <div className="cg-actions cg-sticky-actions">
        <Button type="submit" appearance="primary" isLoading={saving} isDisabled={!dirty}>
          Save settings
        </Button>
        <Button isDisabled={!dirty || saving} onClick={discard}>
          Discard changes
        </Button>
        <span role="status" className="cg-muted">
          {dirty ? 'Unsaved changes.' : result?.ok === true ? 'Saved.' : ''}
        </span>
      </div>
      {result !== null && !result.ok ? <ErrorNotice error={result.error} title="The settings were not saved" /> : null}
      {result?.ok === true ? (
        <SectionMessage appearance="success" title="Settings saved">
          <p>
            Open agent pull requests are re-evaluated now with them (newest first); new ones use them from their first
            evaluation.
          </p>
        </SectionMessage>
      ) : null}
    </Form>
  );
}
