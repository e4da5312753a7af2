import Button from '@atlaskit/button/new';
import SectionMessage from '@atlaskit/section-message';
import Textfield from '@atlaskit/textfield';
import { useId, useState } from 'react';
import type { ClawgateClient } from '../client/clawgate-client';
import { ErrorNotice } from '../components/ErrorNotice';
import { Loading } from '../components/Loading';
import { useLoad } from '../hooks/use-load';
import { formatTime } from '../model/words';

/**
 * The workspace's outgoing alert webhook (docs/policy.md §8.3): the admin sets an https URL on a host
 * the deployment allows and gets a signing secret, shown once; the secret can be rotated and the
 * webhook removed. Every incident and every "restores keep failing" alert is POSTed there, signed.
 */
export function AlertWebhookSection({ client }: { client: ClawgateClient }) {
  const urlId = useId();
  const webhook = useLoad(() => client.getAlertWebhook(), 'alert-webhook');
  const [url, setUrl] = useState<string | null>(null);
  const [secret, setSecret] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  const run = (action: () => Promise<string | null>): void => {
    setBusy(true);
    setError(null);
    action().then(
      (shown) => {
        setBusy(false);
        setSecret(shown);
        webhook.reload();
      },
      (failure: unknown) => {
        setBusy(false);
        setError(failure);
      },
    );
  };

  if (webhook.status === 'loading') return <Loading label="Loading the alert webhook…" />;
  if (webhook.status === 'error')
    return <ErrorNotice error={webhook.error} title="The alert webhook could not be loaded" />;
  const current = webhook.value.url;
  const typed = url ?? current ?? '';
  return (
    <div data-testid="alert-webhook">
      <p>
        clawgate POSTs every incident, and an alert when restoring forged statuses keeps failing, to this URL as JSON
        signed with HMAC-SHA256 (<code>X-Clawgate-Signature</code>; see “Verifying an alert” in the policy
        documentation). Only https, on a host this deployment allows.
      </p>
      <label htmlFor={urlId}>Alert webhook URL</label>
      <Textfield
        id={urlId}
        name="alert-webhook-url"
        value={typed}
        placeholder="https://hooks.example.com/clawgate"
        onChange={(event) => setUrl((event.target as HTMLInputElement).value)}
      />
      <div className="cg-actions">
        <Button
          appearance="primary"
          isDisabled={busy || typed.trim() === '' || typed === current}
          onClick={() => run(async () => (await client.setAlertWebhook(typed.trim())).secret ?? null)}
        >
          {current === null ? 'Set webhook' : 'Change URL'}
        </Button>
        {current !== null ? (
          <>
            <Button isDisabled={busy} onClick={() => run(async () => (await client.rotateAlertSecret()).secret)}>
              Rotate secret
            </Button>
            <Button
              appearance="danger"
              isDisabled={busy}
              onClick={() =>
                run(async () => {
                  await client.deleteAlertWebhook();
                  setUrl(null);
                  return null;
                })
              }
            >
              Remove webhook
            </Button>
          </>
        ) : null}
      </div>
      {current !== null && webhook.value.updated_at !== undefined ? (
        <p>Last changed {formatTime(webhook.value.updated_at)}.</p>
      ) : null}
      {secret !== null ? (
        <SectionMessage appearance="warning" title="Signing secret (shown once)">
          <p>Store it in your receiver now; clawgate will not show it again.</p>
          <code data-testid="alert-secret">{secret}</code>
        </SectionMessage>
      ) : null}
      {error !== null ? <ErrorNotice error={error} title="The alert webhook was not changed" /> : null}
    </div>
  );
}
