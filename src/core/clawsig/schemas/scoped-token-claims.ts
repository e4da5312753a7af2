/** `auth/scoped_token_claims.v1.json`: the claims of a Clawsig scoped token (CST) JWT. */
import { z } from 'zod';
import { jsonArray, jsonInteger, jsonNumber, jsonString } from './keywords';

/** Stricter than the envelopes' `^did:`: a method and a method-specific id are required. */
const did = () => jsonString({ pattern: '^did:[a-z0-9]+:[a-zA-Z0-9._%-]+$' });
const hash43 = () => jsonString({ pattern: '^[A-Za-z0-9_-]{43}$' });

const audienceList = jsonArray(z.string());

/**
 * `aud`: `type: ["string","array"], items: {type: string}`: a string, or an array (possibly empty) of
 * strings. Not a zod union, so that a bad array item is reported at its own index (`aud[1]`).
 */
const audience = z.custom<string | string[]>().check((ctx) => {
  const value: unknown = ctx.value;
  if (typeof value === 'string') return;
  if (!Array.isArray(value)) {
    ctx.issues.push({ code: 'invalid_type', expected: 'string', input: value, message: 'must be string,array' });
    return;
  }
  const result = audienceList.safeParse(value);
  if (!result.success)
    for (const issue of result.error.issues) ctx.issues.push({ ...issue, input: undefined } as z.core.$ZodRawIssue);
});

export const scopedTokenClaimsV1Schema = z.strictObject({
  token_version: z.literal('1'),
  // `sub` has no pattern: any string, even empty.
  sub: z.string(),
  owner_ref: z.string().optional(),
  owner_did: did().optional(),
  controller_did: did().optional(),
  agent_did: did().optional(),
  // `type: ["string","array"], items: string`: a string, or an array (possibly empty) of strings.
  aud: audience,
  scope: jsonArray(z.string(), { minItems: 1 }),
  policy_hash_b64u: hash43().optional(),
  control_plane_policy_hash_b64u: hash43().optional(),
  token_scope_hash_b64u: hash43().optional(),
  payment_account_did: did().optional(),
  spend_cap: jsonNumber({ minimum: 0 }).optional(),
  mission_id: z.string().optional(),
  delegation_id: z.string().optional(),
  delegator_did: did().optional(),
  delegate_did: did().optional(),
  delegation_policy_hash_b64u: hash43().optional(),
  delegation_spend_cap_minor: jsonString({ pattern: '^[0-9]+$' }).optional(),
  delegation_expires_at: jsonInteger().optional(),
  token_lane: z.enum(['legacy', 'canonical']).optional(),
  jti: z.string().optional(),
  iat: jsonInteger(),
  exp: jsonInteger(),
  nonce: z.string().optional(),
});
export type ScopedTokenClaimsV1 = z.infer<typeof scopedTokenClaimsV1Schema>;
