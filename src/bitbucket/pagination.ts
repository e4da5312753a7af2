import type { z } from 'zod';
import { assertEgressAllowed } from './egress-allowlist';
import { EgressDeniedError, PageCapExceededError, type RequestContext } from './errors';
import { isUnderApiBase, loggablePath, type ApiBase } from './request-target';
import { parseJsonBody } from './response-body';
import { pageSchema } from './schemas';

/**
 * The one pagination helper. Bitbucket's `next` is opaque (commits use hash iterators), so we follow
 * it as given — but only to the API origin under its base path, and only for `pageCap` pages: a
 * longer listing is an error, never a silently shortened list.
 */

export const DEFAULT_PAGE_CAP = 20;
export const DEFAULT_PAGELEN = 100;

export interface PageFetch {
  status: number;
  body: Uint8Array;
  context: RequestContext;
}

export interface PaginateParams<Item extends z.ZodType> {
  firstUrl: URL;
  itemSchema: Item;
  pageCap: number;
  apiBase: ApiBase;
  allowedHosts: readonly string[];
  fetchPage: (url: URL) => Promise<PageFetch>;
}

export async function paginate<Item extends z.ZodType>(params: PaginateParams<Item>): Promise<z.output<Item>[]> {
  const { firstUrl, itemSchema, pageCap, apiBase, allowedHosts, fetchPage } = params;
  if (!Number.isInteger(pageCap) || pageCap < 1) throw new RangeError('pageCap must be a positive integer');
  const schema = pageSchema(itemSchema);
  const firstContext: RequestContext = { method: 'GET', path: loggablePath(firstUrl) };
  const items: z.output<Item>[] = [];
  let url = firstUrl;
  for (let page = 1; ; page += 1) {
    const fetched = await fetchPage(url);
    const parsed = parseJsonBody(schema, fetched.body, fetched.context, fetched.status);
    items.push(...(parsed.values as z.output<Item>[]));
    if (parsed.next === undefined) return items;
    if (page >= pageCap) throw new PageCapExceededError(firstContext, pageCap);
    url = nextPageUrl(parsed.next, url, apiBase, allowedHosts, fetched.context);
  }
}

function nextPageUrl(
  next: string,
  current: URL,
  apiBase: ApiBase,
  allowedHosts: readonly string[],
  context: RequestContext,
): URL {
  let url: URL;
  try {
    url = new URL(next, current);
  } catch {
    throw new EgressDeniedError('egress denied: pagination next link is not a URL', '(unparseable)', context);
  }
  assertEgressAllowed(url, allowedHosts, context);
  if (!isUnderApiBase(url, apiBase)) {
    throw new EgressDeniedError(
      `egress denied: pagination next link leaves the API base ${apiBase.origin}${apiBase.basePath}`,
      `${url.origin}${url.pathname}`,
      context,
    );
  }
  return url;
}
