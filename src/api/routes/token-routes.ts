import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { TOKEN_SCOPES, type ApiTokenInfo } from '../../store';
import { ApiError, validationFailed } from '../../http/http-error';
import type { ApiContext } from '../api-context';
import { access, ACCESS, principalOf } from '../../http/authenticate';
import { jsonBody, jsonBodyOf } from '../../http/json-body';
import { zodIssuesToFields } from '../../http/zod-fields';

/**
 * `POST|GET /workspaces/{ws}/tokens`, `POST …/tokens/{id}/revoke`. Creating answers the token once
 * (the store keeps only its SHA-256); lists show the display prefix. A Connect page user creates the
 * workspace's first token with the page's JWT (always `admin`); only an `admin` token or a workspace
 * admin's page creates, lists, rotates or revokes tokens. `scopes` (default `["bundles:write"]`) is what
 * the new token may do; a rotated token keeps its scopes. The store audits creation and revocation.
 */

const MAX_TOKEN_BODY_BYTES = 4096;
const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const createSchema = z.strictObject({
  label: z
    .string()
    .min(1)
    .max(128)
    // eslint-disable-next-line no-control-regex -- labels are shown in pages and logs
    .refine((label) => !/[\u0000-\u001f\u007f]/.test(label), 'must not contain control characters')
    .optional(),
  /** Omitted: ["bundles:write"] (the workspace's first token is always ["admin"]). */
  scopes: z.array(z.enum(TOKEN_SCOPES)).min(1).max(TOKEN_SCOPES.length).optional(),
});

function view(info: ApiTokenInfo): Record<string, unknown> {
  return {
    id: info.id,
    prefix: info.prefix,
    label: info.label,
    scopes: info.scopes,
    created_by: info.createdBy,
    created_at: info.createdAt.toISOString(),
    revoked_at: info.revokedAt?.toISOString() ?? null,
    last_used_at: info.lastUsedAt?.toISOString() ?? null,
  };
}

export function tokenRoutes(context: ApiContext): Router {
  const router = Router({ mergeParams: true });

  router.post(
    '/tokens',
    access(ACCESS.administer),
    ...jsonBody({ limit: MAX_TOKEN_BODY_BYTES, required: false }),
    async (request: Request, response: Response) => {
      const principal = principalOf(request);
      const parsed = createSchema.safeParse(jsonBodyOf(request)?.value ?? {});
      if (!parsed.success)
        throw validationFailed(zodIssuesToFields(parsed.error.issues), 'the token request is invalid');
      const { token, info } = await context.store.apiTokens.create(principal.workspaceId, {
        label: parsed.data.label ?? null,
        actor: principal.actor,
        ...(parsed.data.scopes !== undefined ? { scopes: parsed.data.scopes } : {}),
      });
      response.status(201).json({
        id: info.id,
        token,
        prefix: info.prefix,
        label: info.label,
        scopes: info.scopes,
        created_at: info.createdAt.toISOString(),
      });
    },
  );

  router.get('/tokens', access(ACCESS.administer), async (request: Request, response: Response) => {
    const { workspaceId } = principalOf(request);
    response.json({ tokens: (await context.store.apiTokens.list(workspaceId)).map(view) });
  });

  // Rotation: a new token with the same label, shown once, and the old one revoked. The new token is
  // created first, so a failure in between leaves the caller with a working token, never none.
  router.post('/tokens/:id/rotate', access(ACCESS.administer), async (request: Request, response: Response) => {
    const principal = principalOf(request);
    const id = request.params.id;
    const current =
      typeof id === 'string' && UUID_PATTERN.test(id)
        ? (await context.store.apiTokens.list(principal.workspaceId)).find((t) => t.id === id.toLowerCase())
        : undefined;
    if (current === undefined) throw new ApiError(404, 'TOKEN_NOT_FOUND', 'this workspace has no token with that id');
    if (current.revokedAt !== null)
      throw new ApiError(409, 'TOKEN_REVOKED', 'a revoked token cannot be rotated; create a new one');
    const { token, info } = await context.store.apiTokens.create(principal.workspaceId, {
      label: current.label,
      actor: principal.actor,
      scopes: current.scopes,
    });
    await context.store.apiTokens.revoke(principal.workspaceId, current.id, principal.actor);
    response.status(201).json({
      id: info.id,
      token,
      prefix: info.prefix,
      label: info.label,
      scopes: info.scopes,
      created_at: info.createdAt.toISOString(),
      replaces: current.id,
    });
  });

  router.post('/tokens/:id/revoke', access(ACCESS.administer), async (request: Request, response: Response) => {
    const principal = principalOf(request);
    const id = request.params.id;
    const revoked =
      typeof id === 'string' && UUID_PATTERN.test(id)
        ? await context.store.apiTokens.revoke(principal.workspaceId, id.toLowerCase(), principal.actor)
        : null;
    if (revoked === null) throw new ApiError(404, 'TOKEN_NOT_FOUND', 'this workspace has no token with that id');
    response.json(view(revoked));
  });

  return router;
}
