/**
 * The one error type and body of every clawgate HTTP surface (`/api/v1`, Connect lifecycle, pages,
 * webhooks; docs/api.md): `{"error": {"code", "message", "fields"?}}` with a 4xx/5xx status. Handlers
 * throw ApiError (routers that answer directly call `sendError` in `error-response.ts`); everything
 * else is mapped in `error-handler.ts`. Internal failures are always `INTERNAL_ERROR`.
 */

export interface ApiFieldError {
  /** Where in the request body (or query) the problem is, e.g. `agents[1].account_uuid`; `` for the whole body. */
  readonly path: string;
  readonly message: string;
}

export interface ApiErrorBody {
  readonly error: {
    readonly code: string;
    readonly message: string;
    readonly fields?: readonly ApiFieldError[];
  };
}

export class ApiError extends Error {
  override readonly name = 'ApiError';

  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly fields?: readonly ApiFieldError[],
  ) {
    super(message);
  }

  toBody(): ApiErrorBody {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.fields !== undefined && this.fields.length > 0 ? { fields: this.fields } : {}),
      },
    };
  }
}

/** 422 with field paths: the request was well-formed JSON but its content is refused. */
export function validationFailed(
  fields: readonly ApiFieldError[],
  message = 'the request body is invalid',
  code = 'VALIDATION_FAILED',
): ApiError {
  return new ApiError(422, code, message, fields);
}
