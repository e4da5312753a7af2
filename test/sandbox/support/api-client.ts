import { createQueryStringHash, encodeSymmetric, fromMethodAndUrl } from 'atlassian-jwt';
import type { BitbucketSandbox } from '../../../src/sandbox';

/**
 * Calls the sandbox like an installed app: an HS256 JWT minted here (not by the sandbox) with
 * iss = app key, sub = clientKey, qsh over method + /2.0 path + query.
 */
export function appJwt(input: {
  key: string;
  clientKey: string;
  secret: string;
  method: string;
  pathAndQuery: string;
  expiresIn?: number;
  now?: number;
}): string {
  const iat = Math.floor((input.now ?? Date.now()) / 1000);
  const qsh = createQueryStringHash(fromMethodAndUrl(input.method, input.pathAndQuery), false);
  return encodeSymmetric(
    { iss: input.key, sub: input.clientKey, iat, exp: iat + (input.expiresIn ?? 180), qsh },
    input.secret,
  );
}

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}

export interface ApiResult {
  status: number;
  headers: Headers;
  json: unknown;
  text: string;
}

export async function call(
  url: string,
  init: { method?: string; authorization?: string; body?: unknown; redirect?: 'manual' | 'follow' } = {},
): Promise<ApiResult> {
  const headers: Record<string, string> = {};
  if (init.authorization) headers.Authorization = init.authorization;
  if (init.body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(url, {
    method: init.method ?? 'GET',
    headers,
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
    redirect: init.redirect ?? 'manual',
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: parseJson(text), text };
}

/** An installed app's view of the sandbox API. */
export class ConnectClient {
  constructor(
    private readonly sandbox: BitbucketSandbox,
    private readonly app: { key: string; clientKey: string },
  ) {}

  async request(method: string, pathAndQuery: string, body?: unknown): Promise<ApiResult> {
    const inst = this.sandbox.getInstallation({ clientKey: this.app.clientKey });
    if (!inst) throw new Error('not installed');
    const jwt = appJwt({
      key: this.app.key,
      clientKey: this.app.clientKey,
      secret: inst.sharedSecret,
      method,
      pathAndQuery,
    });
    return call(`${this.sandbox.baseUrl}${pathAndQuery}`, { method, authorization: `JWT ${jwt}`, body });
  }

  get(pathAndQuery: string): Promise<ApiResult> {
    return this.request('GET', pathAndQuery);
  }
}

export class TokenClient {
  constructor(
    private readonly sandbox: BitbucketSandbox,
    private readonly token: string,
  ) {}

  request(method: string, pathAndQuery: string, body?: unknown): Promise<ApiResult> {
    return call(`${this.sandbox.baseUrl}${pathAndQuery}`, { method, authorization: `Bearer ${this.token}`, body });
  }

  get(pathAndQuery: string): Promise<ApiResult> {
    return this.request('GET', pathAndQuery);
  }
}
