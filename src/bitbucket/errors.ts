/**
 * Named error sentinels of the Bitbucket client. Callers branch on the class (or on `code`), never on
 * message text. HTTP statuses become errors in exactly one place: `errorForStatus` below.
 *
 * `transient` tells a job queue whether trying the same job later can succeed (rate limit, server or
 * network trouble) or whether it cannot without a change somewhere (auth, not found, bad input).
 */

export type BitbucketErrorCode =
  | 'BITBUCKET_NOT_FOUND'
  | 'BITBUCKET_AUTH'
  | 'BITBUCKET_RATE_LIMIT'
  | 'BITBUCKET_SERVER'
  | 'BITBUCKET_REQUEST_REJECTED'
  | 'BITBUCKET_RESPONSE_INVALID'
  | 'BITBUCKET_RESPONSE_TOO_LARGE'
  | 'BITBUCKET_NETWORK'
  | 'BITBUCKET_REDIRECT'
  | 'BITBUCKET_INPUT_INVALID'
  | 'EGRESS_DENIED'
  | 'PAGE_CAP_EXCEEDED'
  | 'ANNOTATION_LIMIT_EXCEEDED'
  | 'API_BUDGET_EXCEEDED';

/** Where a failure happened. The path never carries the `jwt` query parameter (see request-target.ts). */
export interface RequestContext {
  method: string;
  /** Path and query as sent, for logs and messages. */
  path: string;
}

export abstract class BitbucketError extends Error {
  abstract readonly code: BitbucketErrorCode;
  abstract readonly transient: boolean;
  readonly method: string | undefined;
  readonly path: string | undefined;
  readonly status: number | undefined;

  constructor(message: string, context?: RequestContext, status?: number, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.method = context?.method;
    this.path = context?.path;
    this.status = status;
  }
}

function describe(context: RequestContext | undefined): string {
  return context ? `${context.method} ${context.path}` : 'Bitbucket request';
}

export class BitbucketNotFoundError extends BitbucketError {
  readonly code = 'BITBUCKET_NOT_FOUND';
  readonly transient = false;
}

/** 401 (credentials rejected) or 403 (missing scope or permission). */
export class BitbucketAuthError extends BitbucketError {
  readonly code = 'BITBUCKET_AUTH';
  readonly transient = false;
}

/** 429 after the retry budget ran out. `retryAfterMs` is set when the server named a wait. */
export class BitbucketRateLimitError extends BitbucketError {
  readonly code = 'BITBUCKET_RATE_LIMIT';
  readonly transient = true;
  readonly retryAfterMs: number | undefined;
  constructor(message: string, context: RequestContext, retryAfterMs: number | undefined) {
    super(message, context, 429);
    this.retryAfterMs = retryAfterMs;
  }
}

/**
 * clawgate's own API budget refused a call before it was sent (call-meter.ts). `scope`: `evaluation`
 * — one evaluation spent its cap (not transient: the evaluation fails closed with its own reason
 * code); `installation` — the installation's hourly budget has no room for this kind of call
 * (transient: the job is retried later, after `retryAfterMs` at the earliest).
 */
export class ApiBudgetExceededError extends BitbucketError {
  readonly code = 'API_BUDGET_EXCEEDED';
  readonly transient: boolean;
  readonly scope: 'evaluation' | 'installation';
  readonly retryAfterMs: number | undefined;
  constructor(message: string, context: RequestContext, scope: 'evaluation' | 'installation', retryAfterMs?: number) {
    super(message, context);
    this.scope = scope;
    this.transient = scope === 'installation';
    this.retryAfterMs = retryAfterMs;
  }
}

/** 5xx after the retry budget ran out. */
export class BitbucketServerError extends BitbucketError {
  readonly code = 'BITBUCKET_SERVER';
  readonly transient = true;
}

/** Any other 4xx: Bitbucket refused the request as made (e.g. 400 on a status key over 40 chars). */
export class BitbucketRequestRejectedError extends BitbucketError {
  readonly code = 'BITBUCKET_REQUEST_REJECTED';
  readonly transient = false;
}

export interface SchemaIssue {
  /** Dotted path into the response body, e.g. `values.3.hash`; empty for the root. */
  path: string;
  message: string;
}

/** The response did not have the shape we rely on (or was not JSON / not UTF-8 text). */
export class BitbucketResponseError extends BitbucketError {
  readonly code: BitbucketErrorCode = 'BITBUCKET_RESPONSE_INVALID';
  readonly transient = false;
  /** Dotted path of the first mismatch (`''` when the body as a whole was unusable). */
  readonly issuePath: string;
  readonly issues: readonly SchemaIssue[];
  constructor(message: string, context: RequestContext | undefined, issues: readonly SchemaIssue[], status?: number) {
    super(message, context, status);
    this.issues = issues;
    this.issuePath = issues[0]?.path ?? '';
  }
}

/** The body was longer than the limit for this call; reading stopped at the limit. */
export class ResponseTooLargeError extends BitbucketResponseError {
  override readonly code = 'BITBUCKET_RESPONSE_TOO_LARGE';
  readonly limitBytes: number;
  constructor(context: RequestContext, limitBytes: number, status: number) {
    super(`${describe(context)}: response body exceeds ${limitBytes} bytes`, context, [], status);
    this.limitBytes = limitBytes;
  }
}

/** Connection refused/reset, DNS, timeout — after retries for idempotent methods, at once otherwise. */
export class BitbucketNetworkError extends BitbucketError {
  readonly code = 'BITBUCKET_NETWORK';
  readonly transient = true;
}

/** Too many redirects, a redirect without Location, or a redirect we do not follow for this method. */
export class BitbucketRedirectError extends BitbucketError {
  readonly code = 'BITBUCKET_REDIRECT';
  readonly transient = false;
}

/** An argument we would have put into a request is unusable (bad hash, `..` path segment, key > 40 chars). */
export class BitbucketInputError extends BitbucketError {
  readonly code = 'BITBUCKET_INPUT_INVALID';
  readonly transient = false;
}

/** The URL's host is not on the egress allowlist (or the scheme is not allowed); nothing was sent. */
export class EgressDeniedError extends BitbucketError {
  readonly code = 'EGRESS_DENIED';
  readonly transient = false;
  readonly url: string;
  constructor(message: string, url: string, context?: RequestContext) {
    super(message, context);
    this.url = url;
  }
}

/** A listing had more pages than the cap; we refuse to return a silently truncated list. */
export class PageCapExceededError extends BitbucketError {
  readonly code = 'PAGE_CAP_EXCEEDED';
  readonly transient = false;
  readonly pageCap: number;
  constructor(context: RequestContext, pageCap: number) {
    super(`${describe(context)}: more than ${pageCap} pages; refusing to truncate`, context);
    this.pageCap = pageCap;
  }
}

/** Code Insights keeps at most 1,000 annotations per report; more are refused before any request. */
export class AnnotationLimitError extends BitbucketError {
  readonly code = 'ANNOTATION_LIMIT_EXCEEDED';
  readonly transient = false;
  readonly count: number;
  readonly limit: number;
  constructor(count: number, limit: number) {
    super(`${count} annotations exceed the limit of ${limit} per report`);
    this.count = count;
    this.limit = limit;
  }
}

/**
 * THE mapping from a final (post-retry) non-2xx status to an error. `detail` is Bitbucket's own
 * `error.message`, if the body had one; it names the problem, never a credential of ours.
 */
export function errorForStatus(
  status: number,
  context: RequestContext,
  detail: string | undefined,
  retryAfterMs?: number,
): BitbucketError {
  const message = `${describe(context)} answered ${status}${detail ? `: ${detail}` : ''}`;
  if (status === 404) return new BitbucketNotFoundError(message, context, status);
  if (status === 401 || status === 403) return new BitbucketAuthError(message, context, status);
  if (status === 429) return new BitbucketRateLimitError(message, context, retryAfterMs);
  if (status >= 500) return new BitbucketServerError(message, context, status);
  return new BitbucketRequestRejectedError(message, context, status);
}
