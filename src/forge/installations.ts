import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Logger } from 'pino';
import { bearerAuth, createBitbucketClient, egressRefusal, type BitbucketClient } from '../bitbucket';
import type { AppConfig } from '../config/app-config';
import type { Store, Tenant } from '../store';
import type { ForgeInvocation } from './invocation-token';

/**
 * Forge installation → clawgate tenant (docs/forge.md §0.5, §0.6, §6). A Forge tenant is a row of the
 * same `tenants` table the other surfaces use, `surface: 'forge'`, keyed by the installation ARI.
 * Everything else clawgate keeps (settings, policies, evaluations, audit) is keyed by the workspace
 * uuid, so a reinstall (new installation id) and a move from Connect to Forge keep all of it.
 *
 * - First token of an installation: a tenant is created for the token's workspace; the app system
 *   token (`x-forge-oauth-system`) is kept sealed as its access token, so queued jobs can call
 *   Bitbucket after the request ended. Other Forge installations of that workspace are stale (Forge
 *   sends no uninstall event; a new installation id means the old one is gone) and are marked
 *   uninstalled.
 * - Later tokens: the system token is replaced when Forge sends a new one (it rotates every few hours).
 * - `preUninstall` marks the installation uninstalled; its tokens are refused from then on.
 * - An installation never moves between workspaces, and its `apiBaseUrl` must be an allowed host.
 */

export const FORGE_ACTOR = 'forge';

export type ForgeTenantResult =
  | { readonly ok: true; readonly tenant: Tenant; readonly created: boolean }
  | {
      readonly ok: false;
      readonly code: 'NO_WORKSPACE' | 'EGRESS_DENIED' | 'UNINSTALLED' | 'WRONG_WORKSPACE';
      readonly detail: string;
    };

function sameSecret(a: string, b: string): boolean {
  const x = createHash('sha256').update(a).digest();
  const y = createHash('sha256').update(b).digest();
  return timingSafeEqual(x, y);
}

const SYSTEM_TOKEN = /^[\x21-\x7e]{16,8192}$/;

/** The `x-forge-oauth-system` header when it looks like a token (opaque to us); else null. */
export function systemTokenOf(header: string | string[] | undefined): string | null {
  const value = Array.isArray(header) ? header[0] : header;
  return value !== undefined && SYSTEM_TOKEN.test(value) ? value : null;
}

export interface ForgeTenantDeps {
  readonly store: Pick<Store, 'tenants'>;
  readonly config: Pick<AppConfig, 'allowedHosts'>;
  readonly logger: Logger;
  readonly fetch?: typeof globalThis.fetch;
}

/** Bitbucket as the app, with the system token Forge just sent (egress allowlist included). */
export function forgeBitbucketClient(
  deps: ForgeTenantDeps,
  apiBaseUrl: string,
  systemToken: string,
  deliveryId: string,
  requestTimeoutMs?: number,
): BitbucketClient {
  return createBitbucketClient({
    baseApiUrl: apiBaseUrl,
    auth: bearerAuth(systemToken),
    allowedHosts: deps.config.allowedHosts,
    logger: deps.logger,
    deliveryId,
    ...(deps.fetch ? { fetch: deps.fetch } : {}),
    ...(requestTimeoutMs !== undefined ? { requestTimeoutMs, retry: { maxAttempts: 1 } } : {}),
  });
}

/** Learns the workspace slug once (API paths and policy assignments use it); failures leave it unknown. */
async function workspaceSlugOf(
  deps: ForgeTenantDeps,
  invocation: ForgeInvocation,
  workspaceId: string,
  systemToken: string,
): Promise<string | null> {
  try {
    const workspace = await forgeBitbucketClient(
      deps,
      invocation.apiBaseUrl,
      systemToken,
      `forge-install:${randomUUID()}`,
      INSTALL_LOOKUP_TIMEOUT_MS,
    ).getWorkspace(workspaceId);
    return /^[A-Za-z0-9._-]{1,128}$/.test(workspace.slug) ? workspace.slug : null;
  } catch (error) {
    deps.logger.warn(
      { workspace: workspaceId, err: error instanceof Error ? error.message : String(error) },
      'forge: workspace slug unknown',
    );
    return null;
  }
}

/** Bounded, so the first event of an installation is still answered within Forge's 5 s. */
const INSTALL_LOOKUP_TIMEOUT_MS = 2_000;

export async function forgeTenantFor(
  deps: ForgeTenantDeps,
  invocation: ForgeInvocation,
  systemToken: string | null,
): Promise<ForgeTenantResult> {
  const { store } = deps;
  if (invocation.workspaceId === null)
    return { ok: false, code: 'NO_WORKSPACE', detail: 'the token names no Bitbucket workspace' };
  const refusal = egressRefusal(new URL(invocation.apiBaseUrl), deps.config.allowedHosts);
  if (refusal !== undefined) return { ok: false, code: 'EGRESS_DENIED', detail: refusal };
  const existing = await store.tenants.findByClientKey(invocation.installationId);
  if (existing !== null) {
    if (existing.workspaceId !== invocation.workspaceId)
      return { ok: false, code: 'WRONG_WORKSPACE', detail: 'the installation belongs to another workspace' };
    if (existing.uninstalledAt !== null)
      return { ok: false, code: 'UNINSTALLED', detail: 'the installation was uninstalled' };
    if (
      systemToken !== null &&
      (existing.accessToken === null || !sameSecret(existing.accessToken.reveal(), systemToken))
    ) {
      await store.tenants.setAccessToken(existing.workspaceId, existing.clientKey, systemToken, FORGE_ACTOR);
      const refreshed = await store.tenants.findByClientKey(invocation.installationId);
      if (refreshed !== null) return { ok: true, tenant: refreshed, created: false };
    }
    return { ok: true, tenant: existing, created: false };
  }
  const slug =
    systemToken === null ? null : await workspaceSlugOf(deps, invocation, invocation.workspaceId, systemToken);
  const { tenant } = await store.tenants.upsertInstall({
    workspaceId: invocation.workspaceId,
    workspaceSlug: slug,
    surface: 'forge',
    clientKey: invocation.installationId,
    baseApiUrl: invocation.apiBaseUrl,
    accessToken: systemToken,
    verified: true,
    actor: FORGE_ACTOR,
  });
  // Older Forge installations of this workspace are gone: Forge reinstalls under a new id.
  for (const other of await store.tenants.listForWorkspace(invocation.workspaceId)) {
    if (other.surface === 'forge' && other.clientKey !== tenant.clientKey && other.uninstalledAt === null) {
      await store.tenants.markUninstalled(other.clientKey, `${FORGE_ACTOR}:superseded-by:${tenant.clientKey}`);
    }
  }
  return { ok: true, tenant, created: true };
}

/** `preUninstall`: the installation stops being used; its data (workspace-keyed) stays. */
export async function markForgeUninstalled(store: Pick<Store, 'tenants'>, installationId: string): Promise<boolean> {
  const tenant = await store.tenants.markUninstalled(installationId, `${FORGE_ACTOR}:pre-uninstall`);
  if (tenant === null) return false;
  // The app system token is of no further use; do not keep it.
  if (tenant.accessToken !== null)
    await store.tenants.setAccessToken(tenant.workspaceId, tenant.clientKey, null, `${FORGE_ACTOR}:pre-uninstall`);
  return true;
}
