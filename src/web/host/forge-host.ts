import type { HostBridge } from './host-bridge';

/**
 * The Forge Custom UI host (docs/architecture.md §2): the page runs inside Bitbucket's Forge iframe, and every call
 * to clawgate goes through `invokeRemote`, which Forge signs with an invocation token of its own
 * (forge-fetch.ts). The page holds no credential: `authorization()` only has to be non-null so the
 * client sends; the header it names is dropped before the call. Forge sizes Custom UI iframes itself.
 */
export const FORGE_AUTHORIZATION_MARKER = 'Forge';

export function createForgeHost(): HostBridge {
  return {
    presence: () => 'inside',
    whenDetected: () => Promise.resolve('inside'),
    authorization: () => Promise.resolve(FORGE_AUTHORIZATION_MARKER),
    sessionExpiresAt: () => null,
    resize: () => undefined,
  };
}
