import type { Response } from 'express';
import type { z } from 'zod';
import { sendApiError } from './error-handler';
import { ApiError } from './http-error';

/**
 * `sendApiError` for routers that answer directly instead of throwing (Connect lifecycle, pages,
 * webhooks): the same ApiError and the same body. `fields` maps a field path to what is wrong with it;
 * it is sent as `[{path, message}]`.
 */
export function sendError(
  res: Response,
  status: number,
  code: string,
  message: string,
  fields?: Record<string, string>,
): void {
  const list =
    fields === undefined ? undefined : Object.entries(fields).map(([path, problem]) => ({ path, message: problem }));
  sendApiError(res, new ApiError(status, code, message, list));
}

/**
 * A zod error as `sendError`'s `fields`: the first message at each path (never the values, which may
 * hold a secret). `prefix` says where the validated object sits (`headers.`); the root is `(body)`.
 */
export function issueFields(error: z.ZodError, prefix = ''): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const issue of error.issues) fields[`${prefix}${issue.path.join('.')}` || '(body)'] ??= issue.message;
  return fields;
}
