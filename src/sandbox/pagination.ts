import type { Request } from 'express';
import { ApiError } from './api-errors';

/**
 * Bitbucket's paginated envelope `{pagelen, values, page?, size?, next?}`. `next` is an absolute
 * link that keeps every other query parameter (clients must treat it as opaque; Bitbucket's pagination docs).
 */
export interface PageOptions {
  defaultPagelen?: number;
  maxPagelen?: number;
  /** Commit lists do not report `size` (iterator pagination in the real API). */
  includeSize?: boolean;
}

export interface Page<T> {
  pagelen: number;
  values: T[];
  page: number;
  size?: number;
  next?: string;
  previous?: string;
}

function positiveInt(raw: unknown, name: string): number | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string' || !/^\d+$/.test(raw)) throw ApiError.field(name, 'A valid integer is required.');
  const n = Number(raw);
  if (n < 1) throw ApiError.field(name, 'Ensure this value is greater than or equal to 1.');
  return n;
}

export function paginate<T>(
  req: Request,
  publicBaseUrl: string,
  items: readonly T[],
  options: PageOptions = {},
): Page<T> {
  const max = options.maxPagelen ?? 100;
  const requested = positiveInt(req.query.pagelen, 'pagelen') ?? options.defaultPagelen ?? 10;
  const pagelen = Math.min(requested, max);
  const page = positiveInt(req.query.page, 'page') ?? 1;
  const start = (page - 1) * pagelen;
  const values = items.slice(start, start + pagelen);
  const out: Page<T> = { pagelen, values, page };
  if (options.includeSize !== false) out.size = items.length;
  const url = new URL(req.originalUrl, publicBaseUrl);
  if (start + pagelen < items.length) {
    url.searchParams.set('page', String(page + 1));
    out.next = url.toString();
  }
  if (page > 1) {
    url.searchParams.set('page', String(page - 1));
    out.previous = url.toString();
  }
  return out;
}
