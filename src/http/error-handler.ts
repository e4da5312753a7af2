import type { ErrorRequestHandler, Request, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import { StoreError, type StoreErrorCode } from '../store';
import { ApiError } from './http-error';

/**
 * Every failure of `/api/v1` becomes `{"error": {...}}` here, in one place: our own ApiErrors,
 * the store's named errors, the body parser's errors (413 and friends), and anything unexpected
 * (500, logged without the request body or headers, never echoed).
 */

const STORE_ERRORS: Record<StoreErrorCode, { status: number; message?: string }> = {
  VERSION_CONFLICT: { status: 409 },
  BUNDLE_ID_CONFLICT: { status: 409 },
  UNKNOWN_POLICY: { status: 422 },
  POLICY_HASH_MISMATCH: { status: 422 },
  INVALID_INPUT: { status: 422 },
  CORRUPT_ROW: { status: 500, message: 'stored data failed validation; nothing was acted on' },
};

interface BodyParserError {
  readonly type: string;
  readonly status: number;
}

function isBodyParserError(error: unknown): error is BodyParserError {
  if (typeof error !== 'object' || error === null) return false;
  const candidate = error as { type?: unknown; status?: unknown };
  return typeof candidate.type === 'string' && typeof candidate.status === 'number';
}

export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof StoreError) {
    const mapped = STORE_ERRORS[error.code];
    return new ApiError(
      mapped.status,
      error.code === 'CORRUPT_ROW' ? 'INTERNAL_ERROR' : error.code,
      mapped.message ?? error.message,
    );
  }
  if (isBodyParserError(error)) {
    if (error.type === 'entity.too.large')
      return new ApiError(413, 'PAYLOAD_TOO_LARGE', 'the request body is larger than this endpoint accepts');
    if (error.type === 'encoding.unsupported' || error.type === 'charset.unsupported')
      return new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', 'unsupported content encoding');
    if (error.status >= 400 && error.status < 500)
      return new ApiError(400, 'INVALID_REQUEST', 'the request body could not be read');
  }
  return new ApiError(500, 'INTERNAL_ERROR', 'internal error');
}

export function sendApiError(response: Response, error: ApiError): void {
  response.status(error.status).type('application/json').send(JSON.stringify(error.toBody()));
}

export function apiErrorHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, request: Request, response: Response, next) => {
    if (response.headersSent) {
      next(error);
      return;
    }
    const apiError = toApiError(error);
    if (apiError.status >= 500) {
      logger.error(
        {
          err:
            error instanceof Error ? { name: error.name, message: error.message, stack: error.stack } : String(error),
          method: request.method,
          path: request.path,
        },
        'api request failed',
      );
    }
    sendApiError(response, apiError);
  };
}

/** For paths and methods the API does not have. */
export const notFoundHandler: RequestHandler = (_request, response) => {
  sendApiError(response, new ApiError(404, 'NOT_FOUND', 'no such API route'));
};
