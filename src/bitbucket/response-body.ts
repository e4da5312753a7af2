import type { z } from 'zod';
import { BitbucketResponseError, type RequestContext, type SchemaIssue } from './errors';

/**
 * Turning response bytes into data: strict UTF-8, JSON, then the schema. Nothing unvalidated leaves
 * this file; a mismatch names the first offending path (`values.2.hash`).
 */

export function decodeUtf8(bytes: Uint8Array, context: RequestContext, status: number): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new BitbucketResponseError(
      `${context.method} ${context.path}: response is not valid UTF-8`,
      context,
      [],
      status,
    );
  }
}

export function issuePath(path: readonly PropertyKey[]): string {
  return path.map((part) => (typeof part === 'symbol' ? part.toString() : String(part))).join('.');
}

export function validateData<Schema extends z.ZodType>(
  schema: Schema,
  data: unknown,
  context: RequestContext,
  status: number,
): z.output<Schema> {
  const result = schema.safeParse(data);
  if (result.success) return result.data;
  const issues: SchemaIssue[] = result.error.issues.map((issue) => ({
    path: issuePath(issue.path),
    message: issue.message,
  }));
  const first = issues[0];
  const where = first ? `${first.path || '(root)'}: ${first.message}` : 'unknown mismatch';
  throw new BitbucketResponseError(
    `${context.method} ${context.path}: unexpected response shape at ${where}`,
    context,
    issues,
    status,
  );
}

export function parseJsonBody<Schema extends z.ZodType>(
  schema: Schema,
  bytes: Uint8Array,
  context: RequestContext,
  status: number,
): z.output<Schema> {
  const text = decodeUtf8(bytes, context, status);
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new BitbucketResponseError(`${context.method} ${context.path}: response is not JSON`, context, [], status);
  }
  return validateData(schema, data, context, status);
}
