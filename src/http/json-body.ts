import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { ApiError } from './http-error';

/**
 * Reads a JSON request body with a byte limit and keeps the exact text beside the parsed value:
 * a WPC is stored exactly as uploaded (its hash is over the parsed value, but auditors read the text).
 * The raw parser enforces the limit while streaming (also without Content-Length) and answers 413
 * through the error handler; decoding is strict UTF-8 so a body cannot mean two different things.
 */

export interface JsonBody {
  /** The body text exactly as received (a leading BOM removed). */
  readonly text: string;
  readonly value: unknown;
}

const bodies = new WeakMap<Request, JsonBody>();
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/** The parsed body of a request that went through `jsonBody`; undefined when it had none. */
export function jsonBodyOf(request: Request): JsonBody | undefined {
  return bodies.get(request);
}

function hasBody(request: Request): boolean {
  const length = request.headers['content-length'];
  return request.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

export function jsonBody(options: { limit: number; required: boolean }): RequestHandler[] {
  const readRaw = express.raw({ type: () => true, limit: options.limit });
  const checkType: RequestHandler = (request: Request, _response: Response, next: NextFunction) => {
    if (!hasBody(request)) {
      if (options.required) throw new ApiError(400, 'BODY_REQUIRED', 'this request needs a JSON body');
      next();
      return;
    }
    if (request.is(['application/json', 'application/*+json']) === false) {
      throw new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', 'the body must be JSON (Content-Type: application/json)');
    }
    const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(request.headers['content-type'] ?? '')?.[1];
    if (charset !== undefined && charset.toLowerCase() !== 'utf-8' && charset.toLowerCase() !== 'utf8') {
      throw new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', 'JSON bodies must be UTF-8');
    }
    next();
  };
  const parse: RequestHandler = (request: Request, _response: Response, next: NextFunction) => {
    const raw: unknown = request.body;
    if (raw !== undefined && !Buffer.isBuffer(raw)) {
      // Another parser consumed the stream first: the exact text is gone. A wiring bug, not the caller's.
      throw new Error('a body parser ran before the API router; mount /api/v1 before global body parsers');
    }
    if (raw === undefined) {
      if (options.required) throw new ApiError(400, 'BODY_REQUIRED', 'this request needs a JSON body');
      next();
      return;
    }
    let text: string;
    try {
      text = decoder.decode(raw);
    } catch {
      throw new ApiError(400, 'INVALID_JSON', 'the body is not valid UTF-8');
    }
    if (text.trim() === '') {
      if (options.required) throw new ApiError(400, 'BODY_REQUIRED', 'this request needs a JSON body');
      next();
      return;
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      // The parser's message quotes the input; answer without echoing it.
      throw new ApiError(400, 'INVALID_JSON', 'the body is not valid JSON');
    }
    bodies.set(request, { text, value });
    next();
  };
  return [checkType, readRaw, parse];
}

const rawBodies = new WeakMap<Request, Buffer>();

/** The raw bytes of a request that went through `rawJsonBody`; undefined when it had none. */
export function rawJsonBodyOf(request: Request): Buffer | undefined {
  return rawBodies.get(request);
}

/**
 * Like `jsonBody` (type and charset checks, the streaming byte limit), but the body is NOT decoded
 * or parsed here: for bodies up to megabytes from callers the gate does not trust (bundle uploads),
 * whose parse belongs off the event loop (a 10 MiB nest of arrays takes seconds to parse). The
 * route hands `rawJsonBodyOf(request)` to the verification pool.
 */
export function rawJsonBody(options: { limit: number }): RequestHandler[] {
  const [checkType, readRaw] = jsonBody({ limit: options.limit, required: true });
  const keep: RequestHandler = (request: Request, _response: Response, next: NextFunction) => {
    const raw: unknown = request.body;
    if (raw !== undefined && !Buffer.isBuffer(raw))
      throw new Error('a body parser ran before the API router; mount /api/v1 before global body parsers');
    // An empty or blank body is told apart cheaply (only a short body can be blank enough to matter).
    if (raw === undefined || raw.length === 0 || (raw.length <= 1024 && raw.toString('latin1').trim() === ''))
      throw new ApiError(400, 'BODY_REQUIRED', 'this request needs a JSON body');
    rawBodies.set(request, raw);
    next();
  };
  if (checkType === undefined || readRaw === undefined) throw new Error('jsonBody changed shape');
  return [checkType, readRaw, keep];
}
