import type { Request, Response } from 'express';
import { z } from 'zod';
import { ApiError } from './api-errors';
import type { Principal, Repository } from './model';
import { principalOf } from './request-auth';
import type { BitbucketSandbox } from './sandbox';
import { effectiveScopes } from './scopes';
import type { WriteKind } from './write-recorder';

/** Helpers every REST route uses: parameters, repository access, scope checks, write records. */

export function param(req: Request, name: string): string {
  const value = (req.params as Record<string, string | string[] | undefined>)[name];
  if (Array.isArray(value)) return value.join('/');
  if (value === undefined) throw new ApiError(400, `missing parameter ${name}`);
  return value;
}

export function intParam(req: Request, name: string): number {
  const raw = param(req, name);
  if (!/^\d+$/.test(raw)) throw ApiError.notFound();
  return Number(raw);
}

function grantedScopes(p: Principal): string[] | null {
  return p.kind === 'connect' ? p.installation.scopes : p.token.scopes;
}

export function requireScope(p: Principal, scope: string): void {
  const granted = grantedScopes(p);
  if (!effectiveScopes(granted).has(scope)) {
    throw new ApiError(
      403,
      'Your credentials lack one or more required privilege scopes.',
      undefined,
      `required: ${scope}; granted: ${(granted ?? []).join(', ')}`,
    );
  }
}

/** The repository of a `/repositories/{workspace}/{repo_slug}/…` route, if this principal may use it. */
export function repositoryFor(
  sandbox: BitbucketSandbox,
  req: Request,
  res: Response,
  scope: string,
): { repo: Repository; principal: Principal } {
  const principal = principalOf(res);
  const ws = param(req, 'workspace');
  const slug = param(req, 'repo_slug');
  const repo = sandbox.findRepository(ws, slug);
  if (!repo) throw new ApiError(404, `Repository ${ws}/${slug} not found`);
  const allowed =
    principal.kind === 'connect'
      ? principal.installation.workspace.uuid === repo.workspace.uuid
      : principal.token.workspace.uuid === repo.workspace.uuid &&
        (principal.token.repository === null || principal.token.repository.uuid === repo.uuid);
  if (!allowed) throw new ApiError(403, 'Access denied. You must have access to this repository.');
  requireScope(principal, scope);
  return { repo, principal };
}

export interface WriteOutcome {
  status: number;
  json?: unknown;
  commit?: string;
  pullRequestId?: number;
}

/**
 * Runs a write handler, sends its answer and records the write with the status it got, errors
 * included (a 400 on a limit is still a write the app attempted).
 */
export async function recordedWrite(
  sandbox: BitbucketSandbox,
  kind: WriteKind,
  req: Request,
  res: Response,
  handler: () => WriteOutcome | Promise<WriteOutcome>,
): Promise<void> {
  const principal = res.locals.principal as Principal | undefined;
  const base = {
    method: req.method,
    path: req.originalUrl.split('?')[0] ?? req.path,
    principal: principal?.id ?? 'anonymous',
    repository: `${param(req, 'workspace')}/${param(req, 'repo_slug')}`,
    body: req.body as unknown,
  };
  let outcome: WriteOutcome;
  try {
    outcome = await handler();
  } catch (err) {
    if (err instanceof ApiError) sandbox.received.record(kind, { ...base, status: err.status, at: sandbox.now() });
    throw err;
  }
  const record = { ...base, status: outcome.status, at: sandbox.now() } as Parameters<
    typeof sandbox.received.record
  >[1];
  if (outcome.commit !== undefined) record.commit = outcome.commit;
  if (outcome.pullRequestId !== undefined) record.pullRequestId = outcome.pullRequestId;
  sandbox.received.record(kind, record);
  if (outcome.json === undefined) res.status(outcome.status).end();
  else res.status(outcome.status).json(outcome.json);
}

/**
 * Turns a zod failure into Bitbucket's field-error body: message "<field>: <problem>" and
 * `fields: {<field>: [<problem>]}`, using Django-REST-style wording as Bitbucket does.
 */
export function validationError(error: z.ZodError, body: unknown): ApiError {
  const fields: Record<string, string[]> = {};
  for (const issue of error.issues) {
    const field = issue.path.length > 0 ? issue.path.join('.') : 'body';
    const value = issue.path.reduce<unknown>(
      (v, k) =>
        v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[k as PropertyKey] : undefined,
      body,
    );
    let problem: string;
    if (value === undefined && issue.path.length > 0) problem = 'This field is required.';
    else if (issue.code === 'invalid_value') problem = `"${String(value)}" is not a valid choice.`;
    else if (issue.code === 'too_big' && typeof value === 'string')
      problem = `Ensure this value has at most ${String(issue.maximum)} characters (it has ${value.length}).`;
    else problem = issue.message;
    (fields[field] ??= []).push(problem);
  }
  const [first] = Object.entries(fields);
  return new ApiError(400, first ? `${first[0]}: ${first[1][0] ?? ''}` : 'Bad request', fields);
}

export function parseBody<T>(schema: z.ZodType<T>, req: Request): T {
  const parsed = schema.safeParse(req.body);
  if (!parsed.success) throw validationError(parsed.error, req.body);
  return parsed.data;
}
