import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import {
  bearerAuth,
  connectJwtAuth,
  createBitbucketClient,
  type ApiCallMeter,
  type BitbucketClient,
} from '../bitbucket';
import type { AppConfig } from '../config/app-config';
import type { Store, Tenant } from '../store';

export class TenantNotUsableError extends Error {
  override readonly name = 'TenantNotUsableError';
}

/**
 * A REST client for a tenant: Connect JWT per request, or its access token (repository webhooks;
 * Forge: the latest app system token). `meter`: the installation's API budget for this job (api-budget.ts).
 */
export function bitbucketClientFor(
  tenant: Tenant,
  config: AppConfig,
  logger: Logger,
  deliveryId: string,
  fetchImpl?: typeof fetch,
  meter?: ApiCallMeter,
): BitbucketClient {
  if (!tenant.baseApiUrl) throw new TenantNotUsableError('tenant has no API base URL');
  let auth;
  if (tenant.surface === 'connect') {
    if (!tenant.sharedSecret) throw new TenantNotUsableError('Connect tenant without a shared secret');
    auth = connectJwtAuth({
      appKey: tenant.appKey ?? config.appKey,
      clientKey: tenant.clientKey,
      sharedSecret: tenant.sharedSecret.reveal(),
    });
  } else {
    if (!tenant.accessToken) throw new TenantNotUsableError(`${tenant.surface} tenant without an access token`);
    const token = tenant.accessToken;
    auth = bearerAuth(() => token.reveal());
  }
  return createBitbucketClient({
    baseApiUrl: tenant.baseApiUrl,
    auth,
    allowedHosts: config.allowedHosts,
    logger,
    deliveryId,
    ...(fetchImpl ? { fetch: fetchImpl } : {}),
    ...(meter ? { meter } : {}),
  });
}

/**
 * A client for a workspace's active installation (a Connect installation first, else the access-token
 * one); throws TenantNotUsableError when there is none. For work that is not tied to one delivery
 * (a page viewer's permissions), so each call gets its own correlation id.
 */
export function activeTenantClient(deps: {
  store: Pick<Store, 'tenants'>;
  config: AppConfig;
  logger: Logger;
  fetch?: typeof fetch;
}): (workspaceId: string) => Promise<BitbucketClient> {
  return async (workspaceId) => {
    const active = (await deps.store.tenants.listForWorkspace(workspaceId)).filter(
      (tenant) => tenant.uninstalledAt === null,
    );
    const tenant = active.find((candidate) => candidate.surface === 'connect') ?? active[0];
    if (tenant === undefined) throw new TenantNotUsableError('the workspace has no active installation');
    return bitbucketClientFor(tenant, deps.config, deps.logger, `viewer:${randomUUID()}`, deps.fetch);
  };
}
