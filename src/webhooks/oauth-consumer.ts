import { z } from 'zod';
import type { Store } from '../store';
import { RegistrationError } from './register-workspace';

/**
 * Registers or removes a webhook workspace's OAuth consumer (Sign in with Bitbucket, docs/sign-in.md),
 * shared by `clawgate workspace oauth-consumer` and `PUT|DELETE /api/v1/workspaces/{ws}/oauth-consumer`.
 * Only a workspace registered on the repository-webhook surface may have one. Audited by the store.
 */

export const oauthConsumerBodySchema = z.strictObject({
  key: z.string().regex(/^[\x21-\x7e]{1,255}$/, 'the consumer Key from Bitbucket'),
  secret: z.string().regex(/^[\x21-\x7e]{1,255}$/, 'the consumer Secret from Bitbucket'),
});

async function webhookWorkspace(
  store: Pick<Store, 'tenants'>,
  workspace: string,
): Promise<{ workspaceId: string; workspaceSlug: string | null }> {
  const resolved = await store.tenants.resolveWorkspace(workspace);
  const registered =
    resolved === null
      ? []
      : (await store.tenants.listForWorkspace(resolved.workspaceId)).filter(
          (tenant) => tenant.surface === 'repo_webhooks',
        );
  if (resolved === null || registered.length === 0)
    throw new RegistrationError(404, 'NOT_REGISTERED', `${workspace} is not a registered webhook workspace`);
  return resolved;
}

export async function setOAuthConsumer(
  store: Pick<Store, 'tenants' | 'oauthConsumers'>,
  workspace: string,
  body: unknown,
  actor: string,
): Promise<{ workspaceId: string; workspaceSlug: string | null; consumerKey: string }> {
  const parsed = oauthConsumerBodySchema.safeParse(body);
  if (!parsed.success)
    throw new RegistrationError(
      422,
      'VALIDATION_FAILED',
      'the OAuth consumer is invalid',
      parsed.error.issues.map((issue) => ({ path: issue.path.join('.') || '(body)', message: issue.message })),
    );
  const resolved = await webhookWorkspace(store, workspace);
  await store.oauthConsumers.set(resolved.workspaceId, {
    consumerKey: parsed.data.key,
    consumerSecret: parsed.data.secret,
    actor,
  });
  return { ...resolved, consumerKey: parsed.data.key };
}

export async function removeOAuthConsumer(
  store: Pick<Store, 'tenants' | 'oauthConsumers'>,
  workspace: string,
  actor: string,
): Promise<boolean> {
  const resolved = await webhookWorkspace(store, workspace);
  return store.oauthConsumers.remove(resolved.workspaceId, actor);
}
