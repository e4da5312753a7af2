import '@atlaskit/css-reset';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import { readBoot } from './boot';
import { createConnectHost } from './host/connect-host';
import './styles.css';

/** Entry of the pages' bundle: read what the shell says, pick the host (Connect today), render. */
const root = document.getElementById('clawgate-root');
if (root !== null) {
  try {
    const boot = readBoot(root, document);
    const host = createConnectHost({ view: window, sessionToken: boot.sessionToken });
    createRoot(root).render(
      <StrictMode>
        <App boot={boot} host={host} />
      </StrictMode>,
    );
  } catch {
    root.textContent = 'This clawgate page was opened with an unreadable context. Reopen it from Bitbucket.';
  }
}
