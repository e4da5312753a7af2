/** `poh/co_signature.v1.json`: an extra signature over a tool receipt v2 envelope's payload hash. */
import { z } from 'zod';
import { b64u, dateTime, didPrefixed } from './keywords';

export const CO_SIGNATURE_ROLES = ['proxy', 'approver', 'auditor', 'supervisor'] as const;

export const coSignatureV1Schema = z.strictObject({
  signature_b64u: b64u(),
  algorithm: z.enum(['Ed25519']),
  signer_did: didPrefixed(),
  issued_at: dateTime(),
  role: z.enum(CO_SIGNATURE_ROLES),
});
export type CoSignatureV1 = z.infer<typeof coSignatureV1Schema>;
