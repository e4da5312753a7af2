import type { IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { parseJson } from './api-client';

/**
 * A tiny stand-in for an installed app: serves a Connect descriptor and records every POST
 * (lifecycle callbacks, descriptor webhooks, repository hooks) with its raw bytes, answering
 * 204 unless a test queued other statuses for a path.
 */
export interface ReceivedRequest {
  path: string;
  /** Full URL path with query, as the app saw it. */
  url: string;
  headers: IncomingHttpHeaders;
  raw: Buffer;
  json: unknown;
}

export interface ReceiverOptions {
  key?: string;
  name?: string;
  scopes?: string[] | null;
  webhooks?: { event: string; url: string }[];
  /** Serve the app under a path prefix (its baseUrl then has a path). */
  pathPrefix?: string;
  lifecycle?: { installed: string; uninstalled?: string };
}

export class AppReceiver {
  readonly received: ReceivedRequest[] = [];
  private readonly queued = new Map<string, number[]>();
  descriptorOverride: unknown = undefined;
  /** Runs before the answer is sent (e.g. to call the API from inside the installed callback). */
  beforeAnswer: ((req: ReceivedRequest) => Promise<void>) | undefined = undefined;

  constructor(
    private readonly server: Server,
    readonly baseUrl: string,
    readonly options: ReceiverOptions,
  ) {}

  get descriptorUrl(): string {
    return `${this.baseUrl}/atlassian-connect.json`;
  }

  descriptor(): unknown {
    if (this.descriptorOverride !== undefined) return this.descriptorOverride;
    const d: Record<string, unknown> = {
      key: this.options.key ?? 'clawgate-test',
      name: this.options.name ?? 'clawgate (test)',
      description: 'test app',
      baseUrl: this.baseUrl,
      authentication: { type: 'jwt' },
      lifecycle: this.options.lifecycle ?? { installed: '/installed', uninstalled: '/uninstalled' },
      contexts: ['account'],
      modules: { webhooks: this.options.webhooks ?? [{ event: '*', url: '/webhook' }] },
    };
    if (this.options.scopes !== null) d.scopes = this.options.scopes ?? ['account', 'repository', 'pullrequest'];
    return d;
  }

  /** The next POSTs to `path` answer these statuses, in order; then 204 again. */
  respondWith(path: string, ...statuses: number[]): void {
    this.queued.set(path, [...(this.queued.get(path) ?? []), ...statuses]);
  }

  nextStatus(path: string): number {
    const list = this.queued.get(path);
    return list && list.length > 0 ? (list.shift() ?? 204) : 204;
  }

  at(path: string): ReceivedRequest[] {
    return this.received.filter((r) => r.path === path);
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

export async function startAppReceiver(options: ReceiverOptions = {}): Promise<AppReceiver> {
  const app = express();
  const prefix = options.pathPrefix ?? '';
  const holder: { receiver?: AppReceiver } = {};
  app.get(`${prefix}/atlassian-connect.json`, (_req, res) => {
    res.json(holder.receiver?.descriptor());
  });
  app.post('/*rest', express.raw({ type: () => true, limit: '2mb' }), async (req, res) => {
    const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const json = parseJson(raw.toString('utf8'));
    const path = req.path.slice(prefix.length);
    const received: ReceivedRequest = { path, url: req.originalUrl, headers: req.headers, raw, json };
    holder.receiver?.received.push(received);
    await holder.receiver?.beforeAnswer?.(received);
    res.status(holder.receiver?.nextStatus(path) ?? 204).end();
  });
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  const receiver = new AppReceiver(server, `http://127.0.0.1:${port}${prefix}`, options);
  holder.receiver = receiver;
  return receiver;
}
