import type { Response } from 'express';

/** The error body every clawgate HTTP surface answers with (design §9). */
export interface ErrorBody {
  error: { code: string; message: string; fields?: Record<string, string> };
}

export function sendError(res: Response, status: number, code: string, message: string, fields?: Record<string, string>): void {
  const body: ErrorBody = { error: fields === undefined ? { code, message } : { code, message, fields } };
  res.status(status).type('application/json').send(JSON.stringify(body));
}
