import { z } from 'zod';
import { isB64u } from '../core/clawsig/base64url';
import { isDidFormat } from '../core/clawsig/did-key';
import { isRfc3339DateTime } from '../core/clawsig/rfc3339';
import { missionPatternProblem } from '../core/mission-pattern';

/**
 * A workspace's settings document (docs/api.md `GET|PUT …/settings`). Stored as one JSON value per
 * workspace with an optimistic version. The API layer can validate request bodies with the same
 * schema; the store validates again on every write and read (fail closed on a corrupt row).
 */

const did = z
  .string()
  .max(512)
  .refine((value) => isDidFormat(value), 'must be a did:key or did:web');
const rfc3339 = z.string().refine((value) => isRfc3339DateTime(value), 'must be an RFC 3339 date-time');
const shortString = z.string().min(1).max(512);

export const ENFORCEMENT_MODES = ['observe', 'warn', 'enforce'] as const;
export const enforcementModeSchema = z.enum(ENFORCEMENT_MODES);
export type EnforcementMode = z.infer<typeof enforcementModeSchema>;

export const workspaceSettingsSchema = z
  .object({
    mode: enforcementModeSchema,
    trusted_gateways: z.array(z.object({ did, expires_at: rfc3339.optional() }).strict()).max(200),
    cst_issuers: z
      .array(
        z
          .object({
            kid: shortString.optional(),
            public_key_b64u: z
              .string()
              .refine(
                (value) => isB64u(value, 43) && value.length === 43,
                'must be a 32-byte Ed25519 key in base64url',
              ),
          })
          .strict(),
      )
      .max(100),
    wpc_issuers: z.array(did).max(100),
    agents: z
      .array(
        z
          .object({
            account_uuid: z.string().min(1).max(64),
            role: z.enum(['read', 'write']),
            agent_did: did.optional(),
          })
          .strict(),
      )
      .max(1000),
    /** Kill switch: while true every evaluation fails in enforce mode (the pipeline decides how). */
    frozen: z.boolean(),
    /**
     * Opt-in: a CST `mission_id` must match this pattern (src/core/mission-pattern.ts, e.g.
     * `{repository}#*`). Absent: mission ids are opaque correlation ids, recorded and shown only.
     */
    mission_id_pattern: z
      .string()
      .superRefine((value, ctx) => {
        const problem = missionPatternProblem(value);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      })
      .optional(),
    /**
     * Revocations (docs/api.md §4). Plain lists of identifiers so
     * the engine can test membership; who revoked what and when is in the audit log.
     */
    revocations: z
      .object({
        agent_dids: z.array(did).max(1000),
        account_uuids: z.array(z.string().min(1).max(64)).max(1000),
        cst_jtis: z.array(shortString).max(10000),
        gateway_dids: z.array(did).max(1000),
        bundle_ids: z.array(shortString).max(10000),
      })
      .strict(),
  })
  .strict();

export type WorkspaceSettings = z.infer<typeof workspaceSettingsSchema>;

/** What a workspace gets before anyone saves settings: observe only, nothing trusted. */
export function defaultWorkspaceSettings(): WorkspaceSettings {
  return {
    mode: 'observe',
    trusted_gateways: [],
    cst_issuers: [],
    wpc_issuers: [],
    agents: [],
    frozen: false,
    revocations: { agent_dids: [], account_uuids: [], cst_jtis: [], gateway_dids: [], bundle_ids: [] },
  };
}
