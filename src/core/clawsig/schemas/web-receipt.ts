/** `poh/web_receipt.v1.json` and `poh/web_receipt_envelope.v1.json`: witnessed web interactions. */
import { z } from 'zod';
import { anyObject, b64u, dateTime, nonEmpty } from './keywords';
import { logInclusionProofV1Schema } from './log-inclusion-proof';
import { receiptBindingV1Schema } from './receipt-binding';
import { standardEnvelope } from './signed-envelope';

export const WEB_RECEIPT_SOURCES = ['chatgpt_web', 'claude_web', 'gemini_web', 'other'] as const;

export const webReceiptV1Schema = z.strictObject({
  receipt_version: z.literal('1'),
  receipt_id: nonEmpty(),
  witness_id: nonEmpty(),
  source: z.enum(WEB_RECEIPT_SOURCES),
  request_hash_b64u: b64u(),
  response_hash_b64u: b64u(),
  session_hash_b64u: b64u().optional(),
  timestamp: dateTime(),
  binding: receiptBindingV1Schema.optional(),
  transparency: z
    .strictObject({
      inclusion_proof: logInclusionProofV1Schema.optional(),
      anchor_id: nonEmpty().optional(),
      // No `format: uri` here (unlike the egress-policy receipt's anchor_uri).
      anchor_uri: nonEmpty().optional(),
    })
    .optional(),
  metadata: anyObject().optional(),
});
export type WebReceiptV1 = z.infer<typeof webReceiptV1Schema>;

export const webReceiptEnvelopeV1Schema = standardEnvelope('web_receipt', webReceiptV1Schema);
export type WebReceiptEnvelopeV1 = z.infer<typeof webReceiptEnvelopeV1Schema>;
