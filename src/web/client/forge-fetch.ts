import { z } from 'zod';

/**
 * `fetch` for the pages' HTTP client under Forge: each request becomes an `invokeRemote` call to
 * clawgate's `/forge/ui` + the API path (docs/forge.md §5), so the same client and the same pages run
 * under Connect and Forge. Forge adds the invocation token; the page's own Authorization is never
 * sent. The bridge's answer `{status, headers, body}` is checked and turned back into a Response.
 */

export const FORGE_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
export type ForgeMethod = (typeof FORGE_METHODS)[number];
export type InvokeRemote = (input: {
  path: string;
  method: ForgeMethod;
  headers?: Record<string, string>;
  body?: unknown;
}) => Promise<unknown>;

/** Where the client thinks the API lives; only the path after it is sent. */
export const FORGE_API_ORIGIN = 'https://clawgate.forge.invalid';
export const FORGE_UI_PREFIX = '/forge/ui';

const answerSchema = z.looseObject({
  status: z.number().int().min(100).max(599),
  headers: z.record(z.string(), z.union([z.string(), z.array(z.string())])).optional(),
  body: z.unknown().optional(),
});

export function createInvokeRemoteFetch(invokeRemote: InvokeRemote): typeof fetch {
  return async (input, init) => {
    const url = new URL(
      typeof input === 'string' ? input : input instanceof URL ? input.href : input.url,
      FORGE_API_ORIGIN,
    );
    if (url.origin !== FORGE_API_ORIGIN) throw new TypeError('the Forge pages call clawgate only');
    const headers: Record<string, string> = {};
    new Headers(init?.headers).forEach((value, key) => {
      if (key !== 'authorization') headers[key] = value;
    });
    const text = typeof init?.body === 'string' ? init.body : undefined;
    let body: unknown;
    if (text !== undefined) {
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
      }
    }
    const method = (init?.method ?? 'GET').toUpperCase();
    if (!(FORGE_METHODS as readonly string[]).includes(method))
      throw new TypeError(`invokeRemote cannot send ${method}`);
    const raw = await invokeRemote({
      path: `${FORGE_UI_PREFIX}${url.pathname}${url.search}`,
      method: method as ForgeMethod,
      headers,
      ...(body === undefined ? {} : { body }),
    });
    const answer = answerSchema.safeParse(raw);
    if (!answer.success) throw new TypeError('the Forge bridge answered in an unexpected shape');
    const responseHeaders = new Headers();
    for (const [key, value] of Object.entries(answer.data.headers ?? {}))
      responseHeaders.set(key, Array.isArray(value) ? value.join(',') : value);
    const payload = answer.data.body;
    const content = payload === undefined ? null : typeof payload === 'string' ? payload : JSON.stringify(payload);
    return new Response(answer.data.status === 204 ? null : content, {
      status: answer.data.status,
      headers: responseHeaders,
    });
  };
}
