import type { HostBridge, HostPresence } from './host-bridge';

/**
 * The Connect host: AP from Bitbucket's `all.js` (loaded async by the page shell). AP answers
 * `context.getToken` with a fresh context JWT; without AP (the page opened in a tab of its own, or
 * all.js unreachable) the session token the server put in `<meta name="token">` is used until it
 * expires. Nothing else in the pages may read `window.AP`.
 */

interface ConnectAp {
  context?: { getToken?: (callback: (token: string) => void) => void };
  resize?: (width?: string, height?: string) => void;
  sizeToParent?: () => void;
}

const TOKEN_TIMEOUT_MS = 3000;

function apOf(view: Window): ConnectAp | null {
  const candidate: unknown = (view as unknown as { AP?: unknown }).AP;
  return typeof candidate === 'object' && candidate !== null ? (candidate as ConnectAp) : null;
}

/** `exp` of a compact JWT, read without verifying (only to know when to stop using it). */
export function jwtExpiry(token: string): Date | null {
  const payload = token.split('.')[1];
  if (payload === undefined) return null;
  try {
    const json: unknown = JSON.parse(atob(payload.replace(/-/g, '+').replace(/_/g, '/')));
    const exp = typeof json === 'object' && json !== null && 'exp' in json ? json.exp : undefined;
    return typeof exp === 'number' ? new Date(exp * 1000) : null;
  } catch {
    return null;
  }
}

export interface ConnectHostOptions {
  readonly view: Window;
  /** The session token from the shell (empty: none). */
  readonly sessionToken: string;
  /** How long to wait for all.js before deciding the page runs outside Bitbucket. */
  readonly detectTimeoutMs?: number;
}

export function createConnectHost(options: ConnectHostOptions): HostBridge {
  const { view } = options;
  const sessionToken = options.sessionToken === '' ? null : options.sessionToken;
  const sessionExpiry = sessionToken === null ? null : jwtExpiry(sessionToken);
  let presence: HostPresence = apOf(view) === null ? 'detecting' : 'inside';

  const detected = new Promise<Exclude<HostPresence, 'detecting'>>((resolve) => {
    const settle = (): void => {
      presence = apOf(view) === null ? 'outside' : 'inside';
      resolve(presence);
    };
    if (presence === 'inside') return settle();
    const script = view.document.querySelector<HTMLScriptElement>('script[data-clawgate-host-script]');
    if (script === null || script.src === '') return settle();
    script.addEventListener('load', settle, { once: true });
    script.addEventListener('error', settle, { once: true });
    // A script that already failed before this module ran fires no event; it left a timing entry.
    const finished = view.performance.getEntriesByName(script.src).length > 0;
    if (finished) return settle();
    view.setTimeout(settle, options.detectTimeoutMs ?? 2500);
  });

  function apToken(ap: ConnectAp): Promise<string | null> {
    const getToken = ap.context?.getToken;
    if (getToken === undefined) return Promise.resolve(null);
    return new Promise((resolve) => {
      const timer = view.setTimeout(() => resolve(null), TOKEN_TIMEOUT_MS);
      try {
        getToken.call(ap.context, (token) => {
          view.clearTimeout(timer);
          resolve(typeof token === 'string' && token.length > 0 ? token : null);
        });
      } catch {
        view.clearTimeout(timer);
        resolve(null);
      }
    });
  }

  return {
    presence: () => presence,
    whenDetected: () => detected,
    async authorization() {
      const ap = apOf(view);
      const fresh = ap === null ? null : await apToken(ap);
      const token = fresh ?? sessionToken;
      return token === null ? null : `JWT ${token}`;
    },
    sessionExpiresAt: () => sessionExpiry,
    resize() {
      const ap = apOf(view);
      if (ap?.resize === undefined) return;
      try {
        ap.resize('100%', `${Math.ceil(view.document.documentElement.scrollHeight)}px`);
      } catch {
        // A host that cannot resize leaves the frame as it is; the page still works with a scrollbar.
      }
    },
  };
}

/** A host for someone who signed in with a workspace API token (details page outside Bitbucket). */
export function createApiTokenHost(base: HostBridge, apiToken: string): HostBridge {
  return { ...base, authorization: () => Promise.resolve(`Bearer ${apiToken}`), sessionExpiresAt: () => null };
}
