import type { Logger } from 'pino';
import { bearerAuth, connectJwtAuth, createBitbucketClient, type BitbucketClient } from '../bitbucket';
import type { AppConfig } from '../config/app-config';
import type { Tenant } from '../store';

export class TenantNotUsableError extends Error {
  override readonly name = 'TenantNotUsableError';
}

/** A REST client for a tenant: Connect JWT per request, or its access token (repository webhooks; Forge: the latest app system token). */
export function bitbucketClientFor(tenant: Tenant, config: AppConfig, logger: Logger, deliveryId: string, fetchImpl?: typeof fetch): BitbucketClient {
  if (!tenant.baseApiUrl) throw new TenantNotUsableError('tenant has no API base URL');
  let auth;
  if (tenant.surface === 'connect') {
    if (!tenant.sharedSecret) throw new TenantNotUsableError('Connect tenant without a shared secret');
    auth = connectJwtAuth({ appKey: tenant.appKey ?? config.appKey, clientKey: tenant.clientKey, sharedSecret: tenant.sharedSecret.reveal() });
  } else {
    if (!tenant.accessToken) throw new TenantNotUsableError(`${tenant.surface} tenant without an access token`);
    const token = tenant.accessToken;
    auth = bearerAuth(() => token.reveal());
  }
  return createBitbucketClient({ baseApiUrl: tenant.baseApiUrl, auth, allowedHosts: config.allowedHosts, logger, deliveryId, ...(fetchImpl ? { fetch: fetchImpl } : {}) });
}
