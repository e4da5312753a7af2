/**
 * What the pages need from the product that frames them (docs/architecture.md §2), and nothing else: whether they
 * run inside it, a credential for the API, and a way to say their size changed. Connect implements it
 * with AP (connect-host.ts, the only module that touches `window.AP`); a Forge Custom UI build would
 * implement it with `@forge/bridge`.
 */
export type HostPresence = 'detecting' | 'inside' | 'outside';

export interface HostBridge {
  /** Current presence; `detecting` until the host script has answered or timed out. */
  presence(): HostPresence;
  /** Resolves once presence is known. */
  whenDetected(): Promise<Exclude<HostPresence, 'detecting'>>;
  /** The Authorization header value for the API (`JWT …`), or null when the page has no credential. */
  authorization(): Promise<string | null>;
  /** When the page's own session token expires (null: none or unknown). */
  sessionExpiresAt(): Date | null;
  /** Tells the host the page's height changed (no-op outside it). */
  resize(): void;
}
