import { z } from 'zod';

/**
 * The `installed` / `uninstalled` lifecycle payloads (Atlassian's Connect lifecycle docs; real capture
 * toolchain-oss `app_install_team.json`). Unknown fields are allowed (Bitbucket adds some: `user`,
 * `publicKey`, links); the ones clawgate relies on are checked strictly.
 */

/** Bitbucket UUIDs in braces, as in `principal.uuid` (`{acf54878-…}`). */
const bracedUuid = z.string().regex(/^\{[0-9a-fA-F-]{1,62}\}$/, 'must be a UUID in braces');

/** `ari:cloud:bitbucket::app/{<workspace-uuid>}/<app-key>` (the installed payload's clientKey; Estafette parses the workspace from it). */
export const CLIENT_KEY_PATTERN = /^ari:cloud:bitbucket::app\/(\{[0-9a-fA-F-]{1,62}\})\/([a-zA-Z0-9._-]{1,80})$/;

const principalSchema = z
  .looseObject({
    type: z.enum(['team', 'user']).optional(),
    uuid: bracedUuid,
    username: z.string().min(1).max(255).optional(),
    display_name: z.string().max(255).optional(),
  })
  .refine((principal) => principal.username !== undefined || principal.display_name !== undefined, {
    message: 'principal needs username or display_name',
  });

const lifecycleBase = {
  key: z.string().min(1).max(80),
  clientKey: z
    .string()
    .regex(CLIENT_KEY_PATTERN, 'must be ari:cloud:bitbucket::app/{workspace-uuid}/<app key>')
    .max(255),
  baseUrl: z.url({ protocol: /^https?$/ }).max(2048),
  baseApiUrl: z.url({ protocol: /^https?$/ }).max(2048),
  productType: z.literal('bitbucket'),
  principal: principalSchema,
  publicKey: z.string().max(4096).optional(),
  actor: z
    .looseObject({
      type: z.string().max(64).optional(),
      uuid: z.string().max(64).optional(),
      account_id: z.string().max(128).optional(),
    })
    .optional(),
};

export const installedPayloadSchema = z.looseObject({
  ...lifecycleBase,
  eventType: z.literal('installed'),
  // ≤ 128 characters per the docs. Absent for personal-account installs (observed by Toolchain):
  // without it nothing from Bitbucket could be authenticated, so such installs are refused.
  sharedSecret: z.string().min(1).max(128),
});

export const uninstalledPayloadSchema = z.looseObject({
  ...lifecycleBase,
  eventType: z.literal('uninstalled'),
});

export type InstalledPayload = z.infer<typeof installedPayloadSchema>;
export type UninstalledPayload = z.infer<typeof uninstalledPayloadSchema>;

/** The identifiers both lifecycle payloads carry. */
export interface LifecycleIdentifiers {
  key: string;
  clientKey: string;
  principal: { uuid: string };
}

/**
 * Checks the identifiers agree: the clientKey names this app key and the principal's workspace.
 * Returns a problem description, or undefined when consistent.
 */
export function lifecycleInconsistency(payload: LifecycleIdentifiers, appKey: string): string | undefined {
  if (payload.key !== appKey) return 'key is not this app';
  const match = CLIENT_KEY_PATTERN.exec(payload.clientKey);
  if (match === null) return 'clientKey is malformed';
  if (match[2] !== appKey) return 'clientKey names another app';
  if ((match[1] ?? '').toLowerCase() !== payload.principal.uuid.toLowerCase())
    return 'clientKey names another workspace than principal.uuid';
  return undefined;
}
