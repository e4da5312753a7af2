import { Router, type Request, type Response } from 'express';
import { StoreError, type VersionedSettings, type WorkspaceSettings } from '../../store';
import { ApiError, validationFailed } from '../../http/http-error';
import { reevaluateAfterChange, type ApiContext } from '../api-context';
import { access, ACCESS, principalOf } from '../../http/authenticate';
import { jsonBody, jsonBodyOf } from '../../http/json-body';
import { settingsBodySchema } from '../settings-body';
import { zodIssuesToFields } from '../../http/zod-fields';

/**
 * `GET|PUT /workspaces/{ws}/settings`. PUT replaces the document. Optimistic concurrency: GET
 * answers `ETag: "<version>"`; a PUT with `If-Match: "<version>"` fails with 412 if someone saved
 * in between. The store audits every save (actor, before, after) in the same transaction.
 */

/** `"7"`, `W/"7"` → 7; `*` → undefined (any version); anything else is a 400. */
export function parseIfMatch(header: string | undefined): number | undefined {
  if (header === undefined) return undefined;
  const value = header.trim();
  if (value === '*') return undefined;
  const match = /^(?:W\/)?"(\d{1,9})"$/.exec(value);
  if (match === null)
    throw new ApiError(400, 'INVALID_PRECONDITION', 'If-Match must be the ETag of a settings GET, e.g. "3"');
  return Number(match[1]);
}

function send(response: Response, status: number, versioned: VersionedSettings): void {
  response.setHeader('ETag', `"${versioned.version}"`);
  response.status(status).json(versioned.settings);
}

export function settingsRoutes(context: ApiContext): Router {
  const router = Router({ mergeParams: true });

  router.get('/settings', access(ACCESS.readSettings), async (request: Request, response: Response) => {
    const { workspaceId } = principalOf(request);
    send(response, 200, await context.store.settings.get(workspaceId));
  });

  router.put(
    '/settings',
    access(ACCESS.administer),
    ...jsonBody({ limit: context.config.maxBodyBytes, required: true }),
    async (request: Request, response: Response) => {
      const principal = principalOf(request);
      const parsed = settingsBodySchema.safeParse(jsonBodyOf(request)?.value);
      if (!parsed.success) throw validationFailed(zodIssuesToFields(parsed.error.issues), 'the settings are invalid');
      const ifMatch = request.headers['if-match'];
      const expectedVersion = parseIfMatch(ifMatch);
      let document: WorkspaceSettings;
      let versionToHold = expectedVersion;
      const { revocations, ...rest } = parsed.data;
      if (revocations === undefined) {
        // Keep the stored revocations, and hold the version we read them at so a concurrent change
        // to them cannot be overwritten with the stale list.
        const current = await context.store.settings.get(principal.workspaceId);
        document = { ...rest, revocations: current.settings.revocations };
        versionToHold ??= current.version;
      } else {
        document = { ...rest, revocations };
      }
      try {
        const saved = await context.store.settings.put(principal.workspaceId, document, {
          expectedVersion: versionToHold,
          actor: principal.actor,
        });
        // Revocations, the kill switch (on and off), trust lists and issuers reach open agent PRs now.
        await reevaluateAfterChange(context, response, principal.workspaceId, 'settings', principal.actor);
        send(response, 200, saved);
      } catch (error) {
        if (error instanceof StoreError && error.code === 'VERSION_CONFLICT') {
          throw ifMatch !== undefined && expectedVersion !== undefined
            ? new ApiError(
                412,
                'VERSION_CONFLICT',
                'the settings changed since they were read; GET them again and retry',
              )
            : new ApiError(409, 'VERSION_CONFLICT', 'the settings changed concurrently; retry');
        }
        throw error;
      }
    },
  );

  return router;
}
