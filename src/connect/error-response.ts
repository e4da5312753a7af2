import type { Response } from 'express';
import type { z } from 'zod';

/** The error body every clawgate HTTP surface answers with (design §9). */
export interface ErrorBody {
  error: { code: string; message: string; fields?: { path: string; message: string }[] };
}

/** `fields` maps a field path to what is wrong with it; it is sent as `[{path, message}]`, as /api/v1 does. */
export function sendError(res: Response, status: number, code: string, message: string, fields?: Record<string, string>): void {
  const list = fields === undefined ? undefined : Object.entries(fields).map(([path, problem]) => ({ path, message: problem }));
  const body: ErrorBody = { error: list === undefined ? { code, message } : { code, message, fields: list } };
  res.status(status).type('application/json').send(JSON.stringify(body));
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
