import Button from '@atlaskit/button/new';
import Lozenge from '@atlaskit/lozenge';
import { useState } from 'react';
import type { ClawgateClient, VersionedSettings } from '../client/clawgate-client';
import { ErrorNotice } from '../components/ErrorNotice';

/** The kill switch: switched at once (after a confirmation), independent of unsaved edits elsewhere. */
export function KillSwitch({
  client,
  current,
  onSaved,
}: {
  client: ClawgateClient;
  current: VersionedSettings;
  onSaved: (saved: VersionedSettings) => void;
}) {
  const frozen = current.settings.frozen;
  const [confirming, setConfirming] = useState(false);
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState<unknown>(null);

  const apply = (): void => {
    setSaving(true);
    setError(null);
    client.saveSettings({ ...current.settings, frozen: !frozen }, current.version).then(
      (saved) => {
        setSaving(false);
        setConfirming(false);
        onSaved(saved);
      },
      (failure: unknown) => {
        setSaving(false);
        setError(failure);
      },
    );
  };

  return (
    <div className="cg-kill-switch">
      <p>
        Kill switch:{' '}
        {frozen ? (
          <Lozenge appearance="removed" isBold>
            on
          </Lozenge>
        ) : (
          <Lozenge appearance="success">off</Lozenge>
        )}{' '}
        {frozen
          ? 'Every agent pull request fails until it is turned off: open ones were re-evaluated when it was turned on (newest first, up to 200 evaluated in the last 30 days; the periodic reconciliation and each push reach the rest), new ones fail at their first evaluation.'
          : 'Agent pull requests are evaluated normally.'}
      </p>
      {confirming ? (
        <div className="cg-actions" role="group" aria-label="Confirm the kill switch">
          <span>
            {frozen
              ? 'Turn the kill switch off? Open agent PRs are re-evaluated now (newest first) and pass or fail on their own merits.'
              : 'Turn the kill switch on? Open agent PRs are re-evaluated now (newest first) and fail; new ones fail until it is turned off.'}
          </span>
          <Button appearance={frozen ? 'primary' : 'danger'} isLoading={saving} onClick={apply}>
            {frozen ? 'Yes, turn it off' : 'Yes, turn it on'}
          </Button>
          <Button onClick={() => setConfirming(false)}>Cancel</Button>
        </div>
      ) : (
        <Button appearance={frozen ? 'default' : 'danger'} onClick={() => setConfirming(true)}>
          {frozen ? 'Turn the kill switch off…' : 'Turn the kill switch on…'}
        </Button>
      )}
      {error !== null ? <ErrorNotice error={error} title="The kill switch was not changed" /> : null}
    </div>
  );
}
