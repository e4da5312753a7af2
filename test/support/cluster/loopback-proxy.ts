import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A tiny load balancer on 127.0.0.1 in front of replicas (the cluster's and the replica tests'
 * public URL, APP_BASE_URL). Each request goes to the replica `plan` names (default: round robin);
 * a replica that does not answer (killed) is skipped for the next live one, as a load balancer with
 * health checks would. `plan` may also send copies of a request to other replicas (duplicate
 * deliveries) and replace the answer the client sees (a 5xx makes Bitbucket retry the delivery).
 * Bounded: request bodies over 16 MB are refused with 413.
 */

const MAX_BODY_BYTES = 16 * 1024 * 1024;
const HOP_BY_HOP = new Set([
  'host',
  'connection',
  'content-length',
  'transfer-encoding',
  'keep-alive',
  'upgrade',
  'proxy-connection',
  'te',
  'trailer',
]);

export interface ProxiedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
}

export interface ProxyPlan {
  /** Replica urls in the order to try; the first that answers gives the answer. */
  readonly targets: readonly string[];
  /** Also sent (concurrently, answers ignored) to these: duplicate deliveries. */
  readonly copies?: readonly string[];
  /** Answer the client this status instead of the replica's (after the replica answered). */
  readonly answerStatus?: number;
}

export interface LoopbackProxy {
  readonly url: string;
  /** Requests answered, by the replica url that answered them. */
  readonly served: Map<string, number>;
  close(): Promise<void>;
}

function headersOf(request: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined || HOP_BY_HOP.has(name)) continue;
    headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return headers;
}

async function readBody(request: IncomingMessage): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_BODY_BYTES) return null;
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}

async function forward(target: string, request: ProxiedRequest, body: Buffer): Promise<Response> {
  const hasBody = request.method !== 'GET' && request.method !== 'HEAD';
  return fetch(`${target}${request.path}`, {
    method: request.method,
    headers: request.headers,
    redirect: 'manual',
    signal: AbortSignal.timeout(30_000),
    ...(hasBody ? { body: new Uint8Array(body) } : {}),
  });
}

async function answer(response: ServerResponse, upstream: Response, status: number): Promise<void> {
  const body = Buffer.from(await upstream.arrayBuffer());
  upstream.headers.forEach((value, name) => {
    if (!HOP_BY_HOP.has(name) && name !== 'content-encoding') response.setHeader(name, value);
  });
  response.statusCode = status;
  response.end(body);
}

export async function startLoopbackProxy(
  replicaUrls: () => readonly string[],
  plan?: (request: ProxiedRequest, live: readonly string[]) => ProxyPlan,
  port = 0,
): Promise<LoopbackProxy> {
  let next = 0;
  const served = new Map<string, number>();
  const roundRobin = (live: readonly string[]): ProxyPlan => {
    const start = next++ % Math.max(1, live.length);
    return { targets: [...live.slice(start), ...live.slice(0, start)] };
  };
  const server: Server = createServer((request, response) => {
    void (async () => {
      const body = await readBody(request);
      if (body === null) {
        response.statusCode = 413;
        return void response.end();
      }
      const proxied: ProxiedRequest = {
        method: request.method ?? 'GET',
        path: request.url ?? '/',
        headers: headersOf(request),
      };
      const live = replicaUrls();
      const chosen = plan?.(proxied, live) ?? roundRobin(live);
      const copies = (chosen.copies ?? []).map((target) =>
        forward(target, proxied, body).then(
          (r) => r.arrayBuffer(),
          () => undefined,
        ),
      );
      // A replica that refuses the connection is skipped; then the others, in round-robin order.
      const order = [...chosen.targets, ...live.filter((url) => !chosen.targets.includes(url))];
      for (const target of order) {
        let upstream: Response;
        try {
          upstream = await forward(target, proxied, body);
        } catch {
          continue;
        }
        served.set(target, (served.get(target) ?? 0) + 1);
        await answer(response, upstream, chosen.answerStatus ?? upstream.status);
        await Promise.all(copies);
        return;
      }
      await Promise.all(copies);
      response.statusCode = 502;
      response.end('no replica answered');
    })().catch(() => {
      if (!response.headersSent) response.statusCode = 502;
      response.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${address.port}`,
    served,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
