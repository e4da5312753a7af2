import { generateKeyPairSync } from 'node:crypto';
import { createQueryStringHash, encodeSymmetric, fromMethodAndUrl } from 'atlassian-jwt';
import { z } from 'zod';
import { formatObjectTimestamp } from './bitbucket-time';
import { accountIdFromName, bracedUuid, randomSecret, stripBraces, uuidFromName } from './identifiers';
import type { Installation, User, Workspace } from './model';
import type { Representations, JsonObject } from './representations';
import { isKnownScope } from './scopes';

/**
 * Installs a Connect app into a workspace the way Bitbucket did (Atlassian's Connect install lifecycle):
 * GET the descriptor, POST the `installed` payload to `lifecycle.installed`, remember the
 * installation (clientKey, fresh shared secret, descriptor webhooks).
 *
 * Signing: the first install is unsigned; every later install of the same clientKey
 * (re-install, or install after uninstall) is an HS256 JWT signed with the PREVIOUS shared
 * secret; `uninstalled` is signed with the current one. Claims as observed on Bitbucket's
 * lifecycle tokens: {iss: clientKey, aud: clientKey, iat, exp: iat + 3600, qsh} with the qsh over
 * `POST&<lifecycle path relative to the app baseUrl>&` (the captured install token's qsh is
 * SHA-256("POST&/bitbucket/install&"), i.e. the path without host or baseUrl).
 */

const MAX_DESCRIPTOR_BYTES = 256 * 1024;
const LIFECYCLE_TIMEOUT_MS = 10_000;

export const descriptorSchema = z
  .object({
    key: z
      .string()
      .min(1)
      .max(80)
      .regex(/^[a-zA-Z0-9._-]+$/),
    name: z.string().min(1),
    baseUrl: z.string().url(),
    authentication: z
      .object({ type: z.enum(['jwt', 'none', 'JWT']) })
      .passthrough()
      .optional(),
    lifecycle: z.object({ installed: z.string().min(1), uninstalled: z.string().min(1).optional() }).passthrough(),
    scopes: z.array(z.string()).optional(),
    contexts: z.array(z.string()).optional(),
    modules: z
      .object({
        webhooks: z
          .array(z.object({ event: z.string().min(1).max(64), url: z.string().min(1).max(2048) }).passthrough())
          .optional(),
      })
      .passthrough()
      .optional(),
  })
  .passthrough();

export type ConnectDescriptor = z.infer<typeof descriptorSchema>;

export class InstallError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

/** Module and lifecycle URLs are relative to the app's baseUrl (appended, not URL-resolved). */
export function resolveAppUrl(appBaseUrl: string, url: string): string {
  if (/^https?:\/\//.test(url)) return url;
  return `${appBaseUrl.replace(/\/+$/, '')}${url.startsWith('/') ? url : `/${url}`}`;
}

export function lifecycleJwt(
  clientKey: string,
  secret: string,
  url: string,
  appBaseUrl: string,
  nowMs: number,
): string {
  const iat = Math.floor(nowMs / 1000);
  const qsh = createQueryStringHash(fromMethodAndUrl('POST', url), false, appBaseUrl);
  return encodeSymmetric({ iss: clientKey, iat, qsh, aud: clientKey, exp: iat + 3600 }, secret);
}

let cachedPublicKey: string | undefined;
/** The legacy `publicKey` field: a base64 SPKI RSA key, as in the capture (not used to verify). */
function legacyPublicKey(): string {
  if (cachedPublicKey === undefined) {
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    cachedPublicKey = publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
  }
  return cachedPublicKey;
}

export async function fetchDescriptor(descriptorUrl: string): Promise<ConnectDescriptor> {
  let res: Response;
  try {
    res = await fetch(descriptorUrl, {
      headers: { Accept: 'application/json' },
      redirect: 'error',
      signal: AbortSignal.timeout(LIFECYCLE_TIMEOUT_MS),
    });
  } catch (err) {
    throw new InstallError(`descriptor fetch failed: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!res.ok) throw new InstallError(`descriptor fetch answered ${res.status}`, res.status);
  const text = await res.text();
  if (Buffer.byteLength(text) > MAX_DESCRIPTOR_BYTES) throw new InstallError('descriptor too large');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new InstallError('descriptor is not JSON');
  }
  const parsed = descriptorSchema.safeParse(json);
  if (!parsed.success)
    throw new InstallError(
      `invalid descriptor: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  const unknown = (parsed.data.scopes ?? []).filter((s) => !isKnownScope(s));
  if (unknown.length > 0) throw new InstallError(`invalid descriptor: unknown scopes ${unknown.join(', ')}`);
  return parsed.data;
}

export interface LifecyclePost {
  url: string;
  eventType: 'installed' | 'uninstalled';
  signed: boolean;
  status: number | null;
  at: number;
}

export interface LifecycleContext {
  rep: Representations;
  sandboxBaseUrl: string;
  now: () => number;
  log: LifecyclePost[];
}

function lifecyclePayload(
  ctx: LifecycleContext,
  eventType: 'installed' | 'uninstalled',
  inst: { key: string; clientKey: string; workspace: Workspace; actor: User; sharedSecret?: string },
): JsonObject {
  const principal: JsonObject = {
    ...ctx.rep.team(inst.workspace),
    is_active: true,
    created_on: formatObjectTimestamp(inst.workspace.createdOn),
    properties: {},
    has_2fa_enabled: null,
  };
  // Field order and set follow toolchain-oss/app_install_team.json; the installing user's uuid has
  // no braces there, and is kept that way.
  const payload: JsonObject = {
    productType: 'bitbucket',
    principal,
    eventType,
    baseUrl: ctx.sandboxBaseUrl,
    actor: { type: 'user', uuid: stripBraces(inst.actor.uuid), account_id: inst.actor.accountId },
    publicKey: legacyPublicKey(),
    user: principal,
    key: inst.key,
    baseApiUrl: ctx.sandboxBaseUrl,
    clientKey: inst.clientKey,
  };
  if (inst.sharedSecret !== undefined) payload.sharedSecret = inst.sharedSecret;
  return payload;
}

async function postLifecycle(
  ctx: LifecycleContext,
  url: string,
  eventType: 'installed' | 'uninstalled',
  body: JsonObject,
  authorization: string | null,
): Promise<number> {
  const headers: Record<string, string> = {
    'Content-Type': 'application/json',
    Accept: '*/*',
    'User-Agent': 'Bitbucket-Connect-Sandbox/1.0',
  };
  if (authorization !== null) headers.Authorization = authorization;
  const entry: LifecyclePost = { url, eventType, signed: authorization !== null, status: null, at: ctx.now() };
  ctx.log.push(entry);
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers,
      body: JSON.stringify(body),
      redirect: 'manual',
      signal: AbortSignal.timeout(LIFECYCLE_TIMEOUT_MS),
    });
    await res.arrayBuffer().catch(() => undefined);
    entry.status = res.status;
    return res.status;
  } catch (err) {
    throw new InstallError(`${eventType} callback failed: ${err instanceof Error ? err.message : String(err)}`);
  }
}

export interface InstallRequest {
  descriptorUrl: string;
  workspace: Workspace;
  actor: User;
  /** The existing installation (any status) for a clientKey, whose secret signs a re-install. */
  previousInstallation: (clientKey: string) => Installation | undefined;
  /** Called before the `installed` POST with the installation it will create... */
  onPending: (installation: Installation) => void;
  /** ...and after it, whether it succeeded or not. */
  onSettled: (installation: Installation) => void;
}

export async function installConnectApp(ctx: LifecycleContext, req: InstallRequest): Promise<Installation> {
  const descriptor = await fetchDescriptor(req.descriptorUrl);
  const clientKey = `ari:cloud:bitbucket::app/${req.workspace.uuid}/${descriptor.key}`;
  const previous = req.previousInstallation(clientKey);
  const sharedSecret = randomSecret();
  const installedUrl = resolveAppUrl(descriptor.baseUrl, descriptor.lifecycle.installed);
  const payload = lifecyclePayload(ctx, 'installed', {
    key: descriptor.key,
    clientKey,
    workspace: req.workspace,
    actor: req.actor,
    sharedSecret,
  });
  const authorization = previous
    ? `JWT ${lifecycleJwt(clientKey, previous.sharedSecret, installedUrl, descriptor.baseUrl, ctx.now())}`
    : null;
  const webhooks = (descriptor.modules?.webhooks ?? []).map((w, i) => ({
    event: w.event,
    url: resolveAppUrl(descriptor.baseUrl, w.url),
    hookUuid: uuidFromName(clientKey, `webhook:${i}:${w.event}:${w.url}`),
  }));
  const installation: Installation = {
    key: descriptor.key,
    clientKey,
    workspace: req.workspace,
    sharedSecret,
    appBaseUrl: descriptor.baseUrl,
    descriptorUrl: req.descriptorUrl,
    scopes: descriptor.scopes ?? null,
    webhooks,
    lifecycle: {
      installed: installedUrl,
      uninstalled: descriptor.lifecycle.uninstalled
        ? resolveAppUrl(descriptor.baseUrl, descriptor.lifecycle.uninstalled)
        : null,
    },
    status: 'installed',
    identity: {
      uuid: bracedUuid(uuidFromName('app-user', clientKey)),
      accountId: accountIdFromName(clientKey),
      displayName: descriptor.name,
      kind: 'connect',
    },
    installedAt: ctx.now(),
  };
  // While the app handles `installed` it may prove the new secret with an API call (an
  // inferred hardening); the pending installation is accepted for that, and dropped if the install fails.
  req.onPending(installation);
  try {
    const status = await postLifecycle(ctx, installedUrl, 'installed', payload, authorization);
    if (status < 200 || status >= 300) throw new InstallError(`installed callback answered ${status}`, status);
  } finally {
    req.onSettled(installation);
  }
  return installation;
}

export async function uninstallConnectApp(
  ctx: LifecycleContext,
  inst: Installation,
  actor: User,
): Promise<number | null> {
  if (inst.lifecycle.uninstalled === null) return null;
  const url = inst.lifecycle.uninstalled;
  const payload = lifecyclePayload(ctx, 'uninstalled', {
    key: inst.key,
    clientKey: inst.clientKey,
    workspace: inst.workspace,
    actor,
  });
  const jwt = lifecycleJwt(inst.clientKey, inst.sharedSecret, url, inst.appBaseUrl, ctx.now());
  try {
    return await postLifecycle(ctx, url, 'uninstalled', payload, `JWT ${jwt}`);
  } catch {
    return null;
  }
}
