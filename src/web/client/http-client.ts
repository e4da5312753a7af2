import type { z } from 'zod';
import {
  alertSecretSchema,
  alertsOverviewSchema,
  alertWebhookSchema,
  alertWebhookSetSchema,
  agentRunListSchema,
  assignmentListSchema,
  auditEventSchema,
  detailsLinkSchema,
  errorBodySchema,
  evaluationDetailSchema,
  evaluationListSchema,
  mergeCheckCreatedSchema,
  mergeCheckStatusSchema,
  policyCreatedSchema,
  policyDetailSchema,
  policyListSchema,
  recheckSchema,
  settingsSchema,
  tokenCreatedSchema,
  tokenInfoSchema,
  tokenListSchema,
  verdictSchema,
  type Assignment,
  type Settings,
} from './api-schemas';
import {
  ClientError,
  type AuditFormat,
  type ClawgateClient,
  type DownloadedFile,
  type EvaluationDetail,
} from './clawgate-client';

/**
 * ClawgateClient over HTTP: `/api/v1/workspaces/{ws}/…` (docs/api.md) with whatever Authorization
 * the host gives (`JWT <context token>` inside Bitbucket, `Bearer <API token>` when someone signs in
 * with one). Every answer is checked against its schema; every failure becomes a ClientError.
 */

export interface HttpClientOptions {
  /** The app's base URL (the shell's `data-base-url`). */
  readonly baseUrl: string;
  /** Workspace slug or `{uuid}`. */
  readonly workspace: string;
  /** The Authorization header value for the next call; null when there is no credential. */
  readonly authorization: () => Promise<string | null>;
  readonly fetch?: typeof fetch;
}

interface CallOptions {
  readonly body?: string;
  readonly headers?: Record<string, string>;
}

const EXPORT_PAGE_SIZE = 10_000;
/** 500,000 events; an export larger than that is a job for the API and a script. */
const MAX_EXPORT_PAGES = 50;

function fileNameOf(response: Response, fallback: string): string {
  const match = /filename="([^"]+)"/.exec(response.headers.get('content-disposition') ?? '');
  return match?.[1] ?? fallback;
}

async function errorOf(response: Response): Promise<ClientError> {
  let parsed: z.infer<typeof errorBodySchema> | undefined;
  try {
    const result = errorBodySchema.safeParse(await response.json());
    if (result.success) parsed = result.data;
  } catch {
    parsed = undefined;
  }
  if (parsed === undefined)
    return new ClientError(response.status, 'HTTP_ERROR', `clawgate answered HTTP ${response.status}`);
  const fields = parsed.error.fields;
  const list =
    fields === undefined
      ? []
      : Array.isArray(fields)
        ? fields
        : Object.entries(fields).map(([path, message]) => ({ path, message }));
  return new ClientError(response.status, parsed.error.code, parsed.error.message, list);
}

export function createHttpClient(options: HttpClientOptions): ClawgateClient {
  // Called through a wrapper so `fetch` is always invoked on the global object (a bare reference
  // called as a method of `options` throws "Illegal invocation" in browsers).
  const fetchImpl: typeof fetch = options.fetch ?? ((...args: Parameters<typeof fetch>) => fetch(...args));
  const workspaceBase = `${options.baseUrl}/api/v1/workspaces/${encodeURIComponent(options.workspace)}`;

  async function send(method: string, url: string, call: CallOptions = {}): Promise<Response> {
    const authorization = await options.authorization();
    if (authorization === null) throw new ClientError(401, 'NO_CREDENTIAL', 'There is no sign-in for this page.');
    const headers: Record<string, string> = { authorization, ...call.headers };
    if (call.body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await fetchImpl(url, {
        method,
        headers,
        ...(call.body === undefined ? {} : { body: call.body }),
        credentials: 'omit',
      });
    } catch {
      throw new ClientError(0, 'NETWORK', 'clawgate could not be reached.');
    }
    if (!response.ok) throw await errorOf(response);
    return response;
  }

  async function json<T extends z.ZodType>(
    schema: T,
    method: string,
    path: string,
    call?: CallOptions,
  ): Promise<{ value: z.infer<T>; response: Response }> {
    const response = await send(method, `${workspaceBase}${path}`, call);
    let body: unknown;
    try {
      body = await response.json();
    } catch {
      throw new ClientError(response.status, 'UNEXPECTED_RESPONSE', 'clawgate answered something that is not JSON.');
    }
    const parsed = schema.safeParse(body);
    if (!parsed.success)
      throw new ClientError(response.status, 'UNEXPECTED_RESPONSE', 'clawgate answered in an unexpected shape.');
    return { value: parsed.data, response };
  }

  async function download(path: string, fallbackName: string): Promise<DownloadedFile> {
    const response = await send('GET', `${workspaceBase}${path}`);
    return { fileName: fileNameOf(response, fallbackName), blob: await response.blob() };
  }

  const segment = encodeURIComponent;

  return {
    async listEvaluations(repo, pr, limit = 20) {
      const query = new URLSearchParams({ repo, limit: String(limit) });
      if (pr !== undefined) query.set('pr', String(pr));
      return (await json(evaluationListSchema, 'GET', `/evaluations?${query.toString()}`)).value.evaluations;
    },

    async getEvaluation(id): Promise<EvaluationDetail> {
      const { value } = await json(evaluationDetailSchema, 'GET', `/evaluations/${segment(id)}`);
      const verdict = verdictSchema.safeParse(value.verdict);
      return {
        ...value,
        bundleSha256: value.bundle_sha256_b64u ?? null,
        bundleSource: value.bundle_source ?? null,
        commits: value.commits,
        verdictJson: value.verdict,
        verdict: verdict.success ? verdict.data : null,
      };
    },

    async recheck(repoFullName, pr) {
      const slug = repoFullName.slice(repoFullName.indexOf('/') + 1);
      const { value } = await json(recheckSchema, 'POST', `/repositories/${segment(slug)}/pullrequests/${pr}/recheck`);
      return { jobId: value.job_id };
    },

    downloadBundle: (bundleId) => download(`/bundles/${segment(bundleId)}`, 'proof-bundle.json'),

    async detailsLink(evaluationId) {
      // Only Bitbucket page users can be given a page link; an API-token session has none.
      const authorization = await options.authorization();
      if (authorization === null || !authorization.startsWith('JWT ')) return null;
      const response = await send('GET', `${options.baseUrl}/connect/links/details/${segment(evaluationId)}`);
      const parsed = detailsLinkSchema.safeParse(await response.json());
      if (!parsed.success || !parsed.data.url.startsWith(`${options.baseUrl}/connect/details/`))
        throw new ClientError(response.status, 'UNEXPECTED_RESPONSE', 'clawgate answered an unexpected link.');
      return { url: parsed.data.url, expiresAt: new Date(parsed.data.expires_at) };
    },

    downloadEvidence: (evaluationId) =>
      download(`/evaluations/${segment(evaluationId)}/evidence`, `clawgate-evidence-${evaluationId}.json`),

    async listAgentRuns(limit = 50) {
      return (
        await json(agentRunListSchema, 'GET', `/agent-runs?limit=${Math.min(Math.max(Math.trunc(limit), 1), 100)}`)
      ).value.runs;
    },

    async agentRunsLink() {
      const authorization = await options.authorization();
      if (authorization === null || !authorization.startsWith('JWT ')) return null;
      const response = await send('GET', `${options.baseUrl}/connect/links/agent-runs`);
      const parsed = detailsLinkSchema.safeParse(await response.json());
      if (!parsed.success || !parsed.data.url.startsWith(`${options.baseUrl}/connect/agent-runs`))
        throw new ClientError(response.status, 'UNEXPECTED_RESPONSE', 'clawgate answered an unexpected link.');
      return { url: parsed.data.url, expiresAt: new Date(parsed.data.expires_at) };
    },

    async getSettings() {
      const { value, response } = await json(settingsSchema, 'GET', '/settings');
      return { settings: value, version: response.headers.get('etag') };
    },

    async saveSettings(settings: Settings, version) {
      const { value, response } = await json(settingsSchema, 'PUT', '/settings', {
        body: JSON.stringify(settings),
        headers: version === null ? {} : { 'if-match': version },
      });
      return { settings: value, version: response.headers.get('etag') };
    },

    async listPolicies() {
      return (await json(policyListSchema, 'GET', '/policies')).value.policies;
    },

    async getPolicy(hash) {
      return (await json(policyDetailSchema, 'GET', `/policies/${segment(hash)}`)).value;
    },

    async uploadPolicy(documentText) {
      const { value, response } = await json(policyCreatedSchema, 'POST', '/policies', { body: documentText });
      return { hash: value.policy_hash_b64u, created: response.status === 201 };
    },

    async getAssignments() {
      return (await json(assignmentListSchema, 'GET', '/assignments')).value;
    },

    async saveAssignments(assignments: readonly Assignment[]) {
      const body = assignments.map((item) => ({
        repo: item.repo,
        policy_hash_b64u: item.policy_hash_b64u,
        ...(item.mode ? { mode: item.mode } : {}),
      }));
      return (await json(assignmentListSchema, 'PUT', '/assignments', { body: JSON.stringify(body) })).value;
    },

    async listTokens() {
      return (await json(tokenListSchema, 'GET', '/tokens')).value.tokens;
    },

    async createToken(label, scopes) {
      const body = { ...(label === null ? {} : { label }), ...(scopes === undefined ? {} : { scopes }) };
      return (await json(tokenCreatedSchema, 'POST', '/tokens', { body: JSON.stringify(body) })).value;
    },

    async revokeToken(id) {
      return (await json(tokenInfoSchema, 'POST', `/tokens/${segment(id)}/revoke`)).value;
    },

    async getAlertWebhook() {
      return (await json(alertWebhookSchema, 'GET', '/alert-webhook')).value;
    },

    async setAlertWebhook(url) {
      const { value } = await json(alertWebhookSetSchema, 'PUT', '/alert-webhook', { body: JSON.stringify({ url }) });
      return { url: value.url, ...(value.secret !== undefined ? { secret: value.secret } : {}) };
    },

    async rotateAlertSecret() {
      return { secret: (await json(alertSecretSchema, 'POST', '/alert-webhook/rotate-secret')).value.secret };
    },

    async deleteAlertWebhook() {
      await send('DELETE', `${workspaceBase}/alert-webhook`);
    },

    async listAlerts(days = 7) {
      return (await json(alertsOverviewSchema, 'GET', `/alerts?days=${days}`)).value;
    },

    async getMergeChecks(repoSlug, branch) {
      const query = branch === undefined ? '' : `?${new URLSearchParams({ branch }).toString()}`;
      return (await json(mergeCheckStatusSchema, 'GET', `/repositories/${segment(repoSlug)}/merge-checks${query}`))
        .value;
    },

    async createMergeCheck(repoSlug, branch) {
      const { value } = await json(mergeCheckCreatedSchema, 'POST', `/repositories/${segment(repoSlug)}/merge-checks`, {
        body: JSON.stringify(branch === undefined ? {} : { branch }),
      });
      return { created: value.created, branch: value.branch };
    },

    async auditEvents({ limit, since, kinds }) {
      const query = new URLSearchParams({ format: 'jsonl', limit: String(limit) });
      if (since !== undefined) query.set('since', since.toISOString());
      if (kinds !== undefined && kinds.length > 0) query.set('kind', kinds.join(','));
      const response = await send('GET', `${workspaceBase}/audit?${query.toString()}`);
      const lines = (await response.text()).split('\n').filter((line) => line.trim() !== '');
      return lines.flatMap((line) => {
        try {
          const parsed = auditEventSchema.safeParse(JSON.parse(line));
          return parsed.success ? [parsed.data] : [];
        } catch {
          return [];
        }
      });
    },

    async exportAudit(format: AuditFormat) {
      // Every page of the export (X-Next-After-Id is the cursor), as one file; CSV keeps one header row.
      const parts: string[] = [];
      let afterId: string | null = null;
      for (let page = 0; page < MAX_EXPORT_PAGES; page += 1) {
        const query = new URLSearchParams({ format, limit: String(EXPORT_PAGE_SIZE) });
        if (afterId !== null) query.set('after_id', afterId);
        const response = await send('GET', `${workspaceBase}/audit?${query.toString()}`);
        const body = await response.text();
        parts.push(format === 'csv' && page > 0 ? body.slice(body.indexOf('\r\n') + 2) : body);
        afterId = response.headers.get('x-next-after-id');
        if (afterId === null) break;
      }
      const type = format === 'csv' ? 'text/csv' : 'application/x-ndjson';
      return { fileName: `clawgate-audit.${format}`, blob: new Blob(parts, { type }) };
    },
  };
}
