import { z } from 'zod';
import { decodeB64u, encodeB64u } from '../core/clawsig/base64url';
import { publicKeyFromDidKey } from '../core/clawsig/did-key';
import { isRfc3339DateTime } from '../core/clawsig/rfc3339';
import { enforcementModeSchema, workspaceSettingsSchema } from '../store';

/**
 * The body of `PUT /workspaces/{ws}/settings` (docs/api.md). Stricter than the store's schema, which
 * checks it again: every DID the engine must verify signatures with is an Ed25519 did:key (a did:web
 * passes the store's format check but could never verify, so it would silently trust nothing),
 * keys are canonical base64url of 32 bytes, and lists hold no duplicates (a duplicate is reported at
 * its own index). `revocations` is optional: omitted, the stored list is kept (it is not part of the
 * stable settings interface of docs/api.md §4, and a client that does not know it must not clear it).
 */

const ED25519_DID_MESSAGE = 'must be an Ed25519 did:key (did:key:z6Mk…)';
const ed25519DidKey = z
  .string()
  .max(512)
  .refine((value) => publicKeyFromDidKey(value) !== null, ED25519_DID_MESSAGE);

const rfc3339 = z
  .string()
  .refine((value) => isRfc3339DateTime(value), 'must be an RFC 3339 date-time with a time zone');

const publicKeyB64u = z.string().refine((value) => {
  const bytes = value.length === 43 ? decodeB64u(value) : null;
  return bytes !== null && bytes.length === 32 && encodeB64u(bytes) === value;
}, 'must be a 32-byte Ed25519 public key in canonical base64url (43 characters)');

/** Bitbucket account UUIDs are braced; compared lower case, as Bitbucket emits them. */
const accountUuid = z
  .string()
  .regex(
    /^\{[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\}$/,
    'must be a Bitbucket account UUID in braces, e.g. {d3c1…}',
  )
  .transform((value) => value.toLowerCase());

type Keyed<T> = (item: T) => string | undefined;

/** Adds a "duplicate" issue at `[index, ...keyPath]` for every item whose key was seen before. */
function noDuplicates<T>(keyOf: Keyed<T>, keyPath: readonly PropertyKey[]) {
  return (items: readonly T[], ctx: z.RefinementCtx) => {
    const seen = new Map<string, number>();
    items.forEach((item, index) => {
      const key = keyOf(item);
      if (key === undefined) return;
      const first = seen.get(key);
      if (first === undefined) seen.set(key, index);
      else ctx.addIssue({ code: 'custom', path: [index, ...keyPath], message: `duplicate of [${first}]` });
    });
  };
}

export const settingsBodySchema = z.strictObject({
  mode: enforcementModeSchema,
  trusted_gateways: z
    .array(z.strictObject({ did: ed25519DidKey, expires_at: rfc3339.optional() }))
    .max(200)
    .superRefine(noDuplicates((gateway) => gateway.did, ['did'])),
  cst_issuers: z
    .array(z.strictObject({ kid: z.string().min(1).max(512).optional(), public_key_b64u: publicKeyB64u }))
    .max(100)
    .superRefine(noDuplicates((issuer) => issuer.public_key_b64u, ['public_key_b64u']))
    .superRefine(noDuplicates((issuer) => issuer.kid, ['kid'])),
  wpc_issuers: z
    .array(ed25519DidKey)
    .max(100)
    .superRefine(noDuplicates((did) => did, [])),
  agents: z
    .array(
      z.strictObject({
        account_uuid: accountUuid,
        role: z.enum(['read', 'write']),
        agent_did: ed25519DidKey.optional(),
      }),
    )
    .max(1000)
    .superRefine(noDuplicates((agent) => agent.account_uuid, ['account_uuid'])),
  frozen: z.boolean(),
  mission_id_pattern: workspaceSettingsSchema.shape.mission_id_pattern,
  revocations: workspaceSettingsSchema.shape.revocations.optional(),
});

export type SettingsBody = z.output<typeof settingsBodySchema>;
