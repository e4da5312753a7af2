import type {
  AlertsOverview,
  AlertWebhookInfo,
  AgentRun,
  ApiTokenInfo,
  Assignment,
  AuditEvent,
  CreatedApiToken,
  TokenScopeChoice,
  EvaluationSummary,
  MergeCheckStatus,
  PolicyDetail,
  PolicySummary,
  Settings,
  VerdictView,
} from './api-schemas';

/**
 * The one interface every page gets its data through (docs/architecture.md §2): evaluations, settings and audit.
 * Pages never see how a call is made or authenticated. Today's implementation is HTTP to `/api/v1`
 * with the Connect context JWT (http-client.ts); a Forge Custom UI build would implement the same
 * interface with `@forge/bridge` and leave the pages as they are.
 */

export interface EvaluationDetail extends EvaluationSummary {
  readonly bundleSha256: string | null;
  readonly bundleSource: string | null;
  readonly commits: readonly string[];
  /** The stored verdict as the server sent it (what "download verdict JSON" saves). */
  readonly verdictJson: Readonly<Record<string, unknown>>;
  /** The same, checked and typed for display; null when it does not have the expected shape. */
  readonly verdict: VerdictView | null;
}

export interface VersionedSettings {
  readonly settings: Settings;
  /** The ETag to send back (optimistic concurrency): a save fails if someone saved in between. */
  readonly version: string | null;
}

export interface DownloadedFile {
  readonly fileName: string;
  readonly blob: Blob;
}

export interface PageLink {
  readonly url: string;
  readonly expiresAt: Date;
}

export type AuditFormat = 'jsonl' | 'csv';

export interface AuditQuery {
  readonly limit: number;
  readonly since?: Date;
  /** Event kinds, e.g. `incident`. */
  readonly kinds?: readonly string[];
}

export interface ClawgateClient {
  // evaluations
  listEvaluations(repo: string, pr?: number, limit?: number): Promise<readonly EvaluationSummary[]>;
  getEvaluation(id: string): Promise<EvaluationDetail>;
  recheck(repoFullName: string, pr: number): Promise<{ jobId: string }>;
  downloadBundle(bundleId: string): Promise<DownloadedFile>;
  /** A link that opens an evaluation's details page in a new tab; null where the host has no such thing. */
  detailsLink(evaluationId: string): Promise<PageLink | null>;
  /** The evaluation's signed evidence pack, byte for byte as served (`clawgate verify` checks it). */
  downloadEvidence(evaluationId: string): Promise<DownloadedFile>;
  /** The workspace's recent agent runs, newest first, with verdicts and Trust Pulse summaries. */
  listAgentRuns(limit?: number): Promise<readonly AgentRun[]>;
  /** A link that opens the recent-agent-runs review page in a new tab; null where the host has no such thing. */
  agentRunsLink(): Promise<PageLink | null>;

  // settings
  getSettings(): Promise<VersionedSettings>;
  saveSettings(settings: Settings, version: string | null): Promise<VersionedSettings>;
  listPolicies(): Promise<readonly PolicySummary[]>;
  getPolicy(hash: string): Promise<PolicyDetail>;
  /** The WPC (or signed WPC envelope) as JSON text, sent as typed. */
  uploadPolicy(documentText: string): Promise<{ hash: string; created: boolean }>;
  getAssignments(): Promise<readonly Assignment[]>;
  saveAssignments(assignments: readonly Assignment[]): Promise<readonly Assignment[]>;
  listTokens(): Promise<readonly ApiTokenInfo[]>;
  /** `scopes` omitted: the server's default (`bundles:write`; the workspace's first token is `admin`). */
  createToken(label: string | null, scopes?: readonly TokenScopeChoice[]): Promise<CreatedApiToken>;
  revokeToken(id: string): Promise<ApiTokenInfo>;
  getMergeChecks(repoSlug: string, branch?: string): Promise<MergeCheckStatus>;
  createMergeCheck(repoSlug: string, branch?: string): Promise<{ created: boolean; branch: string }>;

  // alerts (docs/api.md §11a)
  getAlertWebhook(): Promise<AlertWebhookInfo>;
  /** `secret` only when the webhook was created (shown once). */
  setAlertWebhook(url: string): Promise<{ url: string; secret?: string }>;
  rotateAlertSecret(): Promise<{ secret: string }>;
  deleteAlertWebhook(): Promise<void>;
  /** Incidents and alerts of the last `days` (default 7), newest first. */
  listAlerts(days?: number): Promise<AlertsOverview>;

  // audit
  /** Audit events oldest first (at most `limit`), optionally since a time and of some kinds only. */
  auditEvents(query: AuditQuery): Promise<readonly AuditEvent[]>;
  exportAudit(format: AuditFormat): Promise<DownloadedFile>;
}

/** A refused or failed call, with the server's code and field paths when it gave them. */
export class ClientError extends Error {
  override readonly name = 'ClientError';
  constructor(
    /** HTTP status; 0 when the server could not be reached or answered something unreadable. */
    readonly status: number,
    readonly code: string,
    message: string,
    readonly fields: readonly { path: string; message: string }[] = [],
  ) {
    super(message);
  }
}
