import '@atlaskit/css-reset';
import { invokeRemote, view } from '@forge/bridge';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { z } from 'zod';
import { App } from '../App';
import type { Boot } from '../boot';
import { createInvokeRemoteFetch, FORGE_API_ORIGIN } from '../client/forge-fetch';
import { createForgeHost } from '../host/forge-host';
import '../styles.css';

/**
 * Entry of the Forge Custom UI resource (forge/manifest.yml): the same App as under Connect, with the
 * Forge host and a client whose calls go through `invokeRemote`. Which page to show comes from the
 * module key; what it is about (workspace, repository, PR) from clawgate's `/forge/ui/context`, which
 * reads it from the signed invocation token rather than from the page.
 */

const PAGE_OF_MODULE: Record<string, Boot['page']> = {
  'clawgate-pr-panel': 'pr-panel',
  'clawgate-ws-settings': 'configure',
  'clawgate-repo-settings': 'configure',
};

const contextSchema = z.looseObject({
  workspace: z.string().min(1),
  module: z.string().nullable(),
  repo: z.string().nullable(),
  pr: z.number().int().positive().nullable(),
});

async function start(root: HTMLElement): Promise<void> {
  const forgeContext = (await view.getContext()) as { moduleKey?: unknown };
  const page = PAGE_OF_MODULE[typeof forgeContext.moduleKey === 'string' ? forgeContext.moduleKey : ''] ?? 'configure';
  const fetchImpl = createInvokeRemoteFetch((input) => invokeRemote(input));
  const answer = await fetchImpl(`${FORGE_API_ORIGIN}/context`);
  const context = contextSchema.parse(await answer.json());
  const boot: Boot = {
    page,
    context: { repo: context.repo, ...(context.pr !== null ? { pr: context.pr } : {}) },
    baseUrl: FORGE_API_ORIGIN,
    workspace: context.workspace,
    sessionToken: '',
  };
  createRoot(root).render(
    <StrictMode>
      <App boot={boot} host={createForgeHost()} fetchImpl={fetchImpl} />
    </StrictMode>,
  );
}

const root = document.getElementById('clawgate-root');
if (root !== null) {
  start(root).catch(() => {
    root.textContent =
      'clawgate could not load this page. Reload it, or ask a workspace admin to check the clawgate app.';
  });
}
