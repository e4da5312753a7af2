/** `poh/encrypted_proof_payload.v1.json`: the plaintext carried encrypted inside a v2 proof bundle. */
import { z } from 'zod';
import { anyObject, b64u, dateTime, jsonArray, jsonInteger, jsonNumber, jsonString, nonEmpty } from './keywords';
import { APPROVAL_TYPES } from './human-approval-receipt';
import { TOOL_RESULT_STATUSES } from './tool-receipt';

export const encryptedProofPayloadV1Schema = z.strictObject({
  payload_version: z.literal('1').optional(),
  bundle_id: nonEmpty().optional(),
  tool_calls: jsonArray(
    z.strictObject({
      receipt_id: nonEmpty().optional(),
      tool_name: nonEmpty(),
      arguments: anyObject().optional(),
      result_summary: jsonString({ maxLength: 8192 }).optional(),
      result_status: z.enum(TOOL_RESULT_STATUSES).optional(),
      timestamp: dateTime(),
      latency_ms: jsonNumber({ minimum: 0 }).optional(),
    }),
    { maxItems: 1000 },
  ).optional(),
  commands: jsonArray(
    z.strictObject({
      receipt_id: nonEmpty().optional(),
      command: nonEmpty(),
      exit_code: jsonInteger().optional(),
      working_directory: z.string().optional(),
      stdout_summary: jsonString({ maxLength: 8192 }).optional(),
      stderr_summary: jsonString({ maxLength: 8192 }).optional(),
      timestamp: dateTime().optional(),
    }),
    { maxItems: 1000 },
  ).optional(),
  file_operations: jsonArray(
    z.strictObject({
      receipt_id: nonEmpty().optional(),
      operation: z.enum(['read', 'write', 'delete', 'rename', 'mkdir', 'chmod']),
      path: nonEmpty(),
      dest_path: z.string().optional(),
      size_bytes: jsonInteger({ minimum: 0 }).optional(),
      content_hash_b64u: b64u().optional(),
      timestamp: dateTime().optional(),
    }),
    { maxItems: 1000 },
  ).optional(),
  network_connections: jsonArray(
    z.strictObject({
      receipt_id: nonEmpty().optional(),
      remote_host: nonEmpty(),
      remote_port: jsonInteger({ minimum: 1, maximum: 65535 }).optional(),
      protocol: z.enum(['https', 'http', 'tcp', 'udp', 'wss', 'ws', 'grpc']),
      direction: z.enum(['outbound', 'inbound']),
      url: z.string().optional(),
      method: z.string().optional(),
      status_code: jsonInteger().optional(),
      bytes_transferred: jsonInteger({ minimum: 0 }).optional(),
      vendor_id: z.string().optional(),
      timestamp: dateTime().optional(),
    }),
    { maxItems: 1000 },
  ).optional(),
  llm_interactions: jsonArray(
    z.strictObject({
      receipt_id: nonEmpty().optional(),
      provider: nonEmpty(),
      model: nonEmpty(),
      prompt_summary: jsonString({ maxLength: 16384 }).optional(),
      completion_summary: jsonString({ maxLength: 16384 }).optional(),
      prompt_tokens: jsonInteger({ minimum: 0 }).optional(),
      completion_tokens: jsonInteger({ minimum: 0 }).optional(),
      cost_usd: jsonNumber({ minimum: 0 }).optional(),
      timestamp: dateTime().optional(),
      latency_ms: jsonNumber({ minimum: 0 }).optional(),
    }),
    { maxItems: 256 },
  ).optional(),
  human_approvals: jsonArray(
    z.strictObject({
      receipt_id: nonEmpty().optional(),
      approval_type: z.enum(APPROVAL_TYPES),
      scope_description: z.string().optional(),
      approver_identity: z.string().optional(),
      timestamp: dateTime().optional(),
    }),
    { maxItems: 1000 },
  ).optional(),
  run_summary: z
    .strictObject({
      task_description: jsonString({ maxLength: 4096 }).optional(),
      outcome: z.enum(['success', 'failure', 'partial', 'cancelled']).optional(),
      duration_ms: jsonNumber({ minimum: 0 }).optional(),
      files_modified: jsonInteger({ minimum: 0 }).optional(),
      total_tool_calls: jsonInteger({ minimum: 0 }).optional(),
      total_llm_calls: jsonInteger({ minimum: 0 }).optional(),
      total_cost_usd: jsonNumber({ minimum: 0 }).optional(),
    })
    .optional(),
});
export type EncryptedProofPayloadV1 = z.infer<typeof encryptedProofPayloadV1Schema>;
