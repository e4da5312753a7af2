import Button from '@atlaskit/button/new';
import { useState } from 'react';
import type { DownloadedFile } from '../client/clawgate-client';
import { ErrorNotice } from './ErrorNotice';

/** Saves a Blob under a name (the browser's download, via a temporary object URL). */
export function saveFile(file: DownloadedFile): void {
  const url = URL.createObjectURL(file.blob);
  const anchor = document.createElement('a');
  anchor.href = url;
  anchor.download = file.fileName;
  anchor.rel = 'noopener';
  document.body.append(anchor);
  anchor.click();
  anchor.remove();
  // Give the download a moment to start before the URL goes.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** A button that fetches a file with the page's credential (API answers need the Authorization header, so a plain link cannot). */
export function DownloadButton({
  label,
  load,
  appearance = 'default',
}: {
  label: string;
  load: () => Promise<DownloadedFile>;
  appearance?: 'default' | 'primary';
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  return (
    <span className="cg-download">
      <Button
        appearance={appearance}
        isLoading={busy}
        onClick={() => {
          setBusy(true);
          setError(null);
          load().then(
            (file) => {
              saveFile(file);
              setBusy(false);
            },
            (failure: unknown) => {
              setError(failure);
              setBusy(false);
            },
          );
        }}
      >
        {label}
      </Button>
      {error !== null ? <ErrorNotice error={error} title={`${label} failed`} /> : null}
    </span>
  );
}
