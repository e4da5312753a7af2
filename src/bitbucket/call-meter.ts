/**
 * A hook the transport calls around every HTTP exchange with the API origin (each attempt and each
 * redirect hop: Bitbucket counts every one of them against the installation's budget). The client
 * knows nothing about budgets; the pipeline's meter (src/pipeline/api-budget.ts) counts calls per
 * installation in the store and refuses calls by throwing ApiBudgetExceededError from `beforeCall`.
 */
export interface ApiCallMeter {
  /** Before the request leaves; throw to refuse it (nothing is sent). */
  beforeCall(call: MeteredCall): Promise<void>;
  /** After the response's status is known (`null`: a network error, nothing answered). */
  afterCall(call: MeteredCall & { status: number | null }): void;
}

export interface MeteredCall {
  /** The HTTP method (http-transport.ts's HttpMethod; a string here, so the two files do not import each other). */
  method: string;
  /** Path under the API origin, e.g. `/2.0/repositories/acme/web/pullrequests/1` (no query). */
  path: string;
}

/** Reads may be refused when the budget runs low; writes (statuses, reports) use the reserve. */
export function isWriteCall(method: string): boolean {
  return method !== 'GET' && method !== 'HEAD';
}

/** The bucket Bitbucket limits per installation (1,000/h; docs/operations.md, "The Bitbucket API budget"). */
export function isRepositoriesCall(path: string): boolean {
  return path.startsWith('/2.0/repositories/');
}
