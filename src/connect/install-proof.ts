import type { Logger } from 'pino';
import { BitbucketError, connectJwtAuth, createBitbucketClient } from '../bitbucket';

/**
 * Proving a first install. A first `installed`
 * call is unsigned: anyone can POST one. Its `sharedSecret` is only believed once Bitbucket itself
 * accepts an API call signed with it: `GET /2.0/workspaces/{principal.uuid}` as the app
 * (iss = app key, sub = clientKey), against the payload's `baseApiUrl` (already checked against the
 * allowed hosts). One answer from the real host binds clientKey, secret and workspace.
 *
 * The call is made while handling `installed`, before answering: the install only succeeds (and is
 * only stored) when the proof does. The sandbox accepts the pending secret during the callback;
 * whether Bitbucket Cloud does is UNCONFIRMED (this hardening is inferred, not documented) —
 * if it did not, every first install would be refused, loudly, never silently accepted.
 */

/** Waits before retrying a proof that failed transiently (5xx, 429, network); auth failures are final. */
export const DEFAULT_INSTALL_PROOF_RETRY_DELAYS_MS: readonly number[] = [300, 1_000];
/** Installs being proven at once; more are answered 503 (bounds the outbound calls a flood of forged installs can cause). */
export const MAX_CONCURRENT_INSTALL_PROOFS = 20;
/** Bitbucket gives a lifecycle callback ~10 s; the proof must fit well inside. */
const PROOF_REQUEST_TIMEOUT_MS = 3_000;

export interface InstallProofTarget {
  readonly appKey: string;
  readonly clientKey: string;
  readonly sharedSecret: string;
  readonly baseApiUrl: string;
  readonly workspaceId: string;
}

export interface InstallProofEnvironment {
  readonly allowedHosts: readonly string[];
  readonly logger: Logger;
  readonly fetch?: typeof globalThis.fetch;
}

export type InstallProof =
  | { readonly ok: true; readonly method: 'GET'; readonly path: string }
  | { readonly ok: false; readonly transient: boolean; readonly reason: string };

function proofPath(workspaceId: string): string {
  return `/2.0/workspaces/${encodeURIComponent(workspaceId)}`;
}

/** One signed call; ok only when Bitbucket answers with the workspace the install names. */
export async function attemptInstallProof(
  target: InstallProofTarget,
  env: InstallProofEnvironment,
): Promise<InstallProof> {
  try {
    const client = createBitbucketClient({
      baseApiUrl: target.baseApiUrl,
      auth: connectJwtAuth({ appKey: target.appKey, clientKey: target.clientKey, sharedSecret: target.sharedSecret }),
      allowedHosts: env.allowedHosts,
      logger: env.logger,
      // Retries follow proveInstall's schedule, which stops at the first auth failure.
      retry: { maxAttempts: 1 },
      requestTimeoutMs: PROOF_REQUEST_TIMEOUT_MS,
      ...(env.fetch === undefined ? {} : { fetch: env.fetch }),
    });
    const workspace = await client.getWorkspace(target.workspaceId);
    if (workspace.uuid.toLowerCase() !== target.workspaceId.toLowerCase())
      return { ok: false, transient: false, reason: 'the API answered with another workspace' };
    return { ok: true, method: 'GET', path: proofPath(target.workspaceId) };
  } catch (error) {
    if (error instanceof BitbucketError)
      return {
        ok: false,
        transient: error.transient,
        reason: `${error.code}${error.status === undefined ? '' : ` (${error.status})`}`,
      };
    return { ok: false, transient: false, reason: error instanceof Error ? error.name : 'unknown error' };
  }
}

/** The first attempt at once; after a transient failure, one more after each delay. */
export async function proveInstall(
  target: InstallProofTarget,
  env: InstallProofEnvironment,
  retryDelaysMs: readonly number[] = DEFAULT_INSTALL_PROOF_RETRY_DELAYS_MS,
): Promise<InstallProof> {
  let result = await attemptInstallProof(target, env);
  for (const delay of retryDelaysMs) {
    if (result.ok || !result.transient) return result;
    env.logger.debug(
      { clientKey: target.clientKey, reason: result.reason },
      'connect: install proof failed transiently; retrying',
    );
    await new Promise<void>((resolve) => setTimeout(resolve, delay));
    result = await attemptInstallProof(target, env);
  }
  return result;
}
