import { lazy, Suspense, useEffect, useMemo, useState } from 'react';
import type { Boot } from './boot';
import { createHttpClient } from './client/http-client';
import { Loading } from './components/Loading';
import { createApiTokenHost } from './host/connect-host';
import type { HostBridge, HostPresence } from './host/host-bridge';
import { AgentRunsPage } from './pages/AgentRunsPage';
import { AuthRequired, type ApiTokenSignIn } from './pages/AuthRequired';
import { DetailsPage } from './pages/DetailsPage';
import { PrPanel, RepositoryUnknown } from './pages/PrPanel';

/**
 * The settings page is a chunk of its own, loaded when it is opened: Atlaskit's select and form (and
 * the settings sections) stay out of the PR panel's bundle, which Bitbucket loads on every pull request.
 */
const SettingsPage = lazy(() => import('./pages/SettingsPage').then((module) => ({ default: module.SettingsPage })));

function usePresence(host: HostBridge): HostPresence {
  const [presence, setPresence] = useState<HostPresence>(() => host.presence());
  useEffect(() => {
    let live = true;
    void host.whenDetected().then((detected) => {
      if (live) setPresence(detected);
    });
    return () => {
      live = false;
    };
  }, [host]);
  return presence;
}

/** Tells the host whenever the page's height changes, so the iframe fits its content. */
function useAutoResize(host: HostBridge): void {
  useEffect(() => {
    let frame = 0;
    const observer = new ResizeObserver(() => {
      cancelAnimationFrame(frame);
      frame = requestAnimationFrame(() => host.resize());
    });
    observer.observe(document.body);
    return () => {
      cancelAnimationFrame(frame);
      observer.disconnect();
    };
  }, [host]);
}

/** `fetchImpl`: how the client reaches clawgate (Forge: through invokeRemote); default the browser's fetch. */
export function App({ boot, host, fetchImpl }: { boot: Boot; host: HostBridge; fetchImpl?: typeof fetch }) {
  const [signIn, setSignIn] = useState<ApiTokenSignIn | null>(null);
  const effectiveHost = useMemo(
    () => (signIn === null ? host : createApiTokenHost(host, signIn.token)),
    [host, signIn],
  );
  const presence = usePresence(host);
  useAutoResize(host);
  const client = useMemo(
    () =>
      createHttpClient({
        baseUrl: boot.baseUrl,
        workspace: signIn?.workspace ?? boot.workspace,
        authorization: () => effectiveHost.authorization(),
        ...(fetchImpl ? { fetch: fetchImpl } : {}),
      }),
    [boot.baseUrl, boot.workspace, signIn, effectiveHost, fetchImpl],
  );
  const { context } = boot;
  const sessionExpiresAt = effectiveHost.sessionExpiresAt();

  if (context.authProblem !== undefined && signIn === null) {
    return (
      <AuthRequired
        page={boot.page}
        problem={context.authProblem}
        baseUrl={boot.baseUrl}
        onApiToken={boot.page === 'details' && context.evaluation !== undefined ? setSignIn : undefined}
      />
    );
  }
  switch (boot.page) {
    case 'pr-panel':
      return (
        <PrPanel
          client={client}
          repo={context.repo ?? null}
          pr={context.pr ?? 0}
          problem={context.problem ?? null}
          presence={presence}
          sessionExpiresAt={sessionExpiresAt}
        />
      );
    case 'agent-runs':
      return <AgentRunsPage client={client} presence={presence} sessionExpiresAt={sessionExpiresAt} />;
    case 'configure':
      return (
        <Suspense fallback={<Loading label="Loading the settings…" />}>
          <SettingsPage
            client={client}
            presence={presence}
            sessionExpiresAt={sessionExpiresAt}
            incident={context.incident ?? null}
          />
        </Suspense>
      );
    case 'details': {
      const target =
        context.evaluation !== undefined
          ? { evaluation: context.evaluation }
          : context.repo !== undefined && context.repo !== null && context.pr !== undefined
            ? { repo: context.repo, pr: context.pr }
            : null;
      if (target === null) {
        return (
          <main className="cg-page">
            <RepositoryUnknown problem={context.problem ?? null} />
          </main>
        );
      }
      return <DetailsPage client={client} target={target} presence={presence} sessionExpiresAt={sessionExpiresAt} />;
    }
  }
}
