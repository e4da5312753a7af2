import { z } from 'zod';

// The pages' CSP has no 'unsafe-eval': zod would otherwise probe `new Function('')` before its first
// object parse (caught, but reported as a CSP violation in every page load); jitless parsing skips it.
z.config({ jitless: true });

/**
 * The shapes of the `/api/v1` answers the pages read (docs/api.md), checked at the edge like every
 * other external input. Loose where the server may add fields; lenient (optional) inside the stored
 * verdict, whose evidence fields depend on what the bundle held.
 */

const text = z.string();
const optionalText = z.string().optional();
const optionalNumber = z.number().optional();
const nullableText = z.string().nullable().optional();
const modeSchema = z.enum(['observe', 'warn', 'enforce']);
const verdictStateSchema = z.enum(['PASS', 'FAIL', 'PENDING', 'NOT_APPLICABLE']);

export const checkSubjectSchema = z.looseObject({ kind: text, id: optionalText, path: optionalText });

export const checkSchema = z.looseObject({
  rule: text,
  outcome: z.enum(['pass', 'fail', 'pending', 'skip']),
  code: text,
  subject: checkSubjectSchema.optional(),
  evidence: z.record(z.string(), z.unknown()).optional(),
});
export type CheckView = z.infer<typeof checkSchema>;

export const gatewayReceiptSchema = z.looseObject({
  index: z.number(),
  receiptId: optionalText,
  signerDid: optionalText,
  gatewayId: optionalText,
  provider: optionalText,
  model: optionalText,
  tokensInput: optionalNumber,
  tokensOutput: optionalNumber,
  latencyMs: optionalNumber,
  timestamp: optionalText,
  issuedAt: optionalText,
  signatureValid: z.boolean().optional(),
  trusted: z.boolean().optional(),
  bound: z.boolean().optional(),
  counted: z.boolean().optional(),
  code: optionalText,
});
export type GatewayReceiptView = z.infer<typeof gatewayReceiptSchema>;

export const toolReceiptSchema = z.looseObject({
  index: z.number(),
  receiptId: optionalText,
  toolName: optionalText,
  signed: z.boolean().optional(),
  signerDid: optionalText,
  timestamp: optionalText,
  latencyMs: optionalNumber,
});
export type ToolReceiptView = z.infer<typeof toolReceiptSchema>;

export const anchoredReceiptSchema = z.looseObject({
  index: z.number(),
  kind: optionalText,
  receiptId: optionalText,
  category: optionalText,
  timestamp: optionalText,
  target: optionalText,
  approverSubject: optionalText,
});
export type AnchoredReceiptView = z.infer<typeof anchoredReceiptSchema>;

export const fileSchema = z.looseObject({
  path: text,
  oldPath: optionalText,
  status: text,
  provenance: text,
  denied: z.boolean().optional(),
});
export type FileView = z.infer<typeof fileSchema>;

export const tokenSchema = z.looseObject({
  sub: text,
  aud: z.array(text).optional(),
  scopes: z.array(text).optional(),
  iat: optionalNumber,
  exp: optionalNumber,
  jti: optionalText,
  missionId: optionalText,
  policyPin: optionalText,
  scopeHash: optionalText,
  signatureVerified: z.boolean().nullable().optional(),
});
export type TokenView = z.infer<typeof tokenSchema>;

export const proofSchema = z.looseObject({
  bundleId: text,
  agentDid: optionalText,
  runId: optionalText,
  issuedAt: optionalText,
  proofTier: optionalText,
  eventCount: optionalNumber,
  binding: z
    .looseObject({ workspace: optionalText, repoSlug: optionalText, commit: optionalText, branch: optionalText })
    .optional(),
});
export type ProofView = z.infer<typeof proofSchema>;

/** The Trust Pulse as stored with the verdict (render/verdict-json.ts trustPulseToJson): self-reported. */
export const trustPulseViewSchema = z.looseObject({
  status: z.enum(['verified', 'unverified', 'absent']),
  problem: z.string().nullable().optional(),
  hash_b64u: z.string().nullable().optional(),
  summary: z
    .looseObject({
      run_id: text,
      agent_did: text,
      issued_at: text,
      duration_ms: z.number().nullable().optional(),
      tools: z
        .array(z.looseObject({ name: text, calls: z.number() }))
        .max(128)
        .default([]),
      files: z
        .array(z.looseObject({ path: text, touches: z.number() }))
        .max(512)
        .default([]),
    })
    .nullable()
    .optional(),
  comparison: z
    .looseObject({
      unreported_diff_paths: z.array(text).default([]),
      reported_not_in_diff: z.array(text).default([]),
      reported_denied: z.array(z.looseObject({ path: text, glob: text })).default([]),
      redacted: z.array(text).default([]),
    })
    .nullable()
    .optional(),
});
export type TrustPulseView = z.infer<typeof trustPulseViewSchema>;

export const verdictSchema = z.looseObject({
  state: verdictStateSchema,
  reason_code: text,
  mode: modeSchema,
  subject: optionalText,
  checks: z.array(checkSchema).default([]),
  proof: proofSchema.nullable().optional(),
  token: tokenSchema.nullable().optional(),
  policy: z
    .looseObject({ hash: text, id: optionalText, form: optionalText, signerDid: optionalText })
    .nullable()
    .optional(),
  receipts: z
    .looseObject({
      gateway: z.array(gatewayReceiptSchema).default([]),
      tools: z.array(toolReceiptSchema).default([]),
      sideEffects: z.array(anchoredReceiptSchema).default([]),
      approvals: z.array(anchoredReceiptSchema).default([]),
    })
    .default({ gateway: [], tools: [], sideEffects: [], approvals: [] }),
  files: z.array(fileSchema).default([]),
  /** Why the PR counts as agent work (issue 9); absent on verdicts stored before it. */
  agent_work: z
    .array(z.looseObject({ kind: text, accountId: optionalText, commit: optionalText }))
    .max(50)
    .default([]),
  trust_pulse: trustPulseViewSchema.nullable().optional(),
  trigger: optionalText,
  bundle_path: nullableText,
});
export type VerdictView = z.infer<typeof verdictSchema>;

export const evaluationSummarySchema = z.looseObject({
  id: text,
  repo: text,
  pr_id: z.number(),
  head_sha: text,
  state: verdictStateSchema,
  mode: text,
  status_state: text,
  bundle_id: z.string().nullable(),
  policy_hash_b64u: z.string().nullable(),
  pr_url: nullableText,
  created_at: text,
});
export type EvaluationSummary = z.infer<typeof evaluationSummarySchema>;

export const evaluationListSchema = z.looseObject({
  evaluations: z.array(evaluationSummarySchema),
  has_more: z.boolean(),
});

export const evaluationDetailSchema = evaluationSummarySchema.extend({
  bundle_sha256_b64u: nullableText,
  bundle_source: nullableText,
  commits: z.array(text).default([]),
  // The stored verdict exactly as the server has it (downloaded as is); `view` is its checked reading.
  verdict: z.record(z.string(), z.unknown()),
});
export type EvaluationDetailRaw = z.infer<typeof evaluationDetailSchema>;

export const settingsSchema = z.looseObject({
  mode: modeSchema,
  trusted_gateways: z.array(z.looseObject({ did: text, expires_at: optionalText })),
  cst_issuers: z.array(z.looseObject({ kid: optionalText, public_key_b64u: text })),
  wpc_issuers: z.array(text),
  agents: z.array(z.looseObject({ account_uuid: text, role: z.enum(['read', 'write']), agent_did: optionalText })),
  frozen: z.boolean(),
  mission_id_pattern: optionalText,
  revocations: z
    .looseObject({
      agent_dids: z.array(text).default([]),
      account_uuids: z.array(text).default([]),
      cst_jtis: z.array(text).default([]),
      gateway_dids: z.array(text).default([]),
      bundle_ids: z.array(text).default([]),
    })
    .default({ agent_dids: [], account_uuids: [], cst_jtis: [], gateway_dids: [], bundle_ids: [] }),
});
export type Settings = z.infer<typeof settingsSchema>;
export type RevocationList = 'agent_dids' | 'account_uuids' | 'cst_jtis' | 'gateway_dids' | 'bundle_ids';

export const policySummarySchema = z.looseObject({
  policy_hash_b64u: text,
  created_at: text,
  created_by: nullableText,
  signed: z.boolean(),
  retired_at: nullableText,
});
export type PolicySummary = z.infer<typeof policySummarySchema>;
export const policyListSchema = z.looseObject({ policies: z.array(policySummarySchema) });
export const policyDetailSchema = policySummarySchema.extend({
  document: z.record(z.string(), z.unknown()),
  envelope: z.unknown().optional(),
});
export type PolicyDetail = z.infer<typeof policyDetailSchema>;
export const policyCreatedSchema = z.looseObject({ policy_hash_b64u: text });

export const assignmentSchema = z.looseObject({
  repo: text,
  policy_hash_b64u: text,
  mode: modeSchema.nullable().optional(),
});
export type Assignment = z.infer<typeof assignmentSchema>;
export const assignmentListSchema = z.array(assignmentSchema);

/** What an API token may do (docs/api.md "Token scopes"); unknown words are kept but grant nothing. */
export const TOKEN_SCOPE_CHOICES = ['bundles:write', 'read', 'admin'] as const;
export type TokenScopeChoice = (typeof TOKEN_SCOPE_CHOICES)[number];
const scopeList = z.array(text).max(10);

export const tokenInfoSchema = z.looseObject({
  id: text,
  prefix: text,
  label: nullableText,
  /** Absent only from servers older than scopes: those tokens act as admin. */
  scopes: scopeList.optional(),
  created_by: nullableText,
  created_at: text,
  revoked_at: nullableText,
  last_used_at: nullableText,
});
export type ApiTokenInfo = z.infer<typeof tokenInfoSchema>;
export const tokenListSchema = z.looseObject({ tokens: z.array(tokenInfoSchema) });
export const tokenCreatedSchema = z.looseObject({
  id: text,
  token: text,
  prefix: text,
  label: nullableText,
  scopes: scopeList.optional(),
  created_at: text,
});
export type CreatedApiToken = z.infer<typeof tokenCreatedSchema>;

export const auditEventSchema = z.looseObject({
  id: z.number(),
  at: text,
  actor: text,
  kind: text,
  subject: nullableText,
  repo: nullableText,
  pr_id: z.number().nullable().optional(),
  before: z.unknown().optional(),
  after: z.unknown().optional(),
});
export type AuditEvent = z.infer<typeof auditEventSchema>;

const restrictionSchema = z.looseObject({
  id: z.number(),
  kind: text,
  pattern: z.string().nullable(),
  branch_type: z.string().nullable(),
  value: z.number().nullable(),
});
const restrictionGroupSchema = z.looseObject({
  present: z.boolean(),
  restrictions: z.array(restrictionSchema),
  branching_model_restrictions: z.array(restrictionSchema).default([]),
});

export const mergeCheckStatusSchema = z.looseObject({
  repository: text,
  branch: z.string().nullable(),
  readable: z.boolean(),
  problem: z.looseObject({ code: text, message: text }).optional(),
  require_passing_builds: restrictionGroupSchema.optional(),
  enforce_merge_checks: restrictionGroupSchema.optional(),
  blocking: z.enum(['enforced_if_premium', 'warning_only', 'not_checked']).optional(),
});
export type MergeCheckStatus = z.infer<typeof mergeCheckStatusSchema>;
export const mergeCheckCreatedSchema = z.looseObject({ created: z.boolean(), repository: text, branch: text });

/** `GET …/agent-runs`: the review page's rows. */
export const agentRunSchema = z.looseObject({
  id: text,
  repo: text,
  pr_id: z.number(),
  pr_url: nullableText,
  head_sha: text,
  state: verdictStateSchema,
  reason_code: z.string().nullable(),
  mode: text,
  agent_did: z.string().nullable(),
  bundle_id: z.string().nullable(),
  created_at: text,
  trust_pulse: z.looseObject({
    status: z.enum(['verified', 'unverified', 'absent']),
    problem: z.string().nullable(),
    tools: z.array(z.looseObject({ name: text, calls: z.number() })).max(128),
    duration_ms: z.number().nullable(),
    files_reported: z.number(),
    unreported_diff_paths: z.number(),
    reported_not_in_diff: z.number(),
    reported_denied: z.number(),
    redacted: z.number(),
  }),
});
export type AgentRun = z.infer<typeof agentRunSchema>;
export const agentRunListSchema = z.looseObject({
  runs: z.array(agentRunSchema).max(100),
  next_before: z.string().nullable(),
});

export const recheckSchema = z.looseObject({ job_id: text });
export const detailsLinkSchema = z.looseObject({ url: z.url(), expires_at: text });

// The alert webhook and the incidents banner (docs/api.md §11a).
export const alertWebhookSchema = z.looseObject({
  url: z.string().max(2048).nullable(),
  created_at: text.optional(),
  updated_at: text.optional(),
});
export type AlertWebhookInfo = z.infer<typeof alertWebhookSchema>;
export const alertWebhookSetSchema = z.looseObject({ url: z.string().max(2048), secret: text.optional() });
export const alertSecretSchema = z.looseObject({ secret: text });
export const alertsOverviewSchema = z.looseObject({
  since: text,
  incidents: z
    .array(
      z.looseObject({
        incident_id: text,
        action: text,
        repo: text,
        branch: nullableText,
        commit: nullableText,
        pr_id: z.number().nullable(),
        status_state: nullableText,
        created_at: text,
      }),
    )
    .max(200),
  alerts: z
    .array(
      z.looseObject({
        alert_id: text,
        kind: text,
        subject: text,
        state: text,
        attempts: z.number(),
        last_error: nullableText,
        created_at: text,
      }),
    )
    .max(200),
});
export type AlertsOverview = z.infer<typeof alertsOverviewSchema>;

export const errorBodySchema = z.looseObject({
  error: z.looseObject({
    code: text,
    message: text,
    fields: z
      .union([z.array(z.looseObject({ path: text, message: text })), z.record(z.string(), z.string())])
      .optional(),
  }),
});
