import type { Response } from 'express';

/**
 * Bitbucket's error body: `{"type":"error","error":{"message", "detail"?, "fields"?}}`.
 * Field errors spell the message "<field>: <problem>" and repeat it under `fields`, as observed for
 * the status-key length error ("key: Ensure this value has at most 40 characters (it has 41).").
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly fields?: Record<string, string[]>,
    readonly detail?: string,
  ) {
    super(message);
  }

  static field(field: string, problem: string): ApiError {
    return new ApiError(400, `${field}: ${problem}`, { [field]: [problem] });
  }

  static notFound(what = 'Resource not found'): ApiError {
    return new ApiError(404, what);
  }
}

export function sendApiError(res: Response, err: ApiError): void {
  const error: { message: string; fields?: Record<string, string[]>; detail?: string } = { message: err.message };
  if (err.detail !== undefined) error.detail = err.detail;
  if (err.fields !== undefined) error.fields = err.fields;
  res.status(err.status).json({ type: 'error', error });
}

export const RATE_LIMIT_MESSAGE = 'Rate limit for this resource has been exceeded';
