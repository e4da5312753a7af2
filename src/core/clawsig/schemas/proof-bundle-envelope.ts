/** `poh/proof_bundle_envelope.v1.json`: the signed proof bundle (payload = proof_bundle.v1 only). */
import { z } from 'zod';
import { proofBundleV1Schema } from './proof-bundle';
import { standardEnvelope } from './signed-envelope';

export const proofBundleEnvelopeV1Schema = standardEnvelope('proof_bundle', proofBundleV1Schema);
export type ProofBundleEnvelopeV1 = z.infer<typeof proofBundleEnvelopeV1Schema>;
