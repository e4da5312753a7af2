import SectionMessage from '@atlaskit/section-message';
import type { HostPresence } from '../host/host-bridge';
import { formatTime } from '../model/words';

/** Says so when the page runs outside Bitbucket, and until when it can still load data. */
export function HostNotice({
  presence,
  sessionExpiresAt,
  usable,
}: {
  presence: HostPresence;
  sessionExpiresAt: Date | null;
  usable: string;
}) {
  if (presence !== 'outside') return null;
  return (
    <div className="cg-host-notice" data-testid="outside-bitbucket">
      <SectionMessage appearance="information" title="Running outside Bitbucket">
        <p>{usable}</p>
        {sessionExpiresAt !== null ? (
          <p>
            This page’s sign-in is valid until {formatTime(sessionExpiresAt)}; after that, open it again from Bitbucket.
          </p>
        ) : null}
      </SectionMessage>
    </div>
  );
}
