import type { NextFunction, Request, Response } from 'express';
import { RATE_LIMIT_MESSAGE } from './api-errors';

/**
 * Fault injection for the REST API. A fault matches by path (substring or RegExp over the full
 * request path including `/2.0`, query excluded) and method, fires `count` times, and answers with `status` after
 * `latencyMs`. A fault with only `latencyMs` delays the request and then lets it through.
 * 429s carry no Retry-After unless `retryAfter` is given, as observed on Bitbucket.
 */
export interface FaultSpec {
  path?: RegExp | string;
  method?: string;
  status?: 429 | 500 | 502 | 503;
  count?: number;
  retryAfter?: number;
  latencyMs?: number;
}

export interface FaultHandle {
  readonly id: number;
  /** How many more requests this fault will hit. */
  remaining(): number;
  /** How many requests it has hit so far. */
  hits(): number;
  cancel(): void;
}

export interface ServedFault {
  faultId: number;
  method: string;
  path: string;
  status: number | null;
  at: number;
}

interface ActiveFault {
  id: number;
  spec: FaultSpec;
  remaining: number;
  hits: number;
}

export class FaultInjector {
  private nextId = 1;
  private active: ActiveFault[] = [];
  readonly served: ServedFault[] = [];

  constructor(private readonly now: () => number) {}

  inject(spec: FaultSpec): FaultHandle {
    const fault: ActiveFault = { id: this.nextId++, spec, remaining: spec.count ?? 1, hits: 0 };
    this.active.push(fault);
    return {
      id: fault.id,
      remaining: () => fault.remaining,
      hits: () => fault.hits,
      cancel: () => {
        this.active = this.active.filter((f) => f !== fault);
      },
    };
  }

  clear(): void {
    this.active = [];
  }

  private take(method: string, path: string): ActiveFault | undefined {
    const fault = this.active.find((f) => {
      if (f.remaining <= 0) return false;
      if (f.spec.method !== undefined && f.spec.method.toUpperCase() !== method.toUpperCase()) return false;
      const p = f.spec.path;
      if (p === undefined) return true;
      return typeof p === 'string' ? path.includes(p) : p.test(path);
    });
    if (!fault) return undefined;
    fault.remaining--;
    fault.hits++;
    if (fault.remaining <= 0) this.active = this.active.filter((f) => f !== fault);
    return fault;
  }

  middleware() {
    return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
      const path = req.originalUrl.split('?')[0] ?? req.path;
      const fault = this.take(req.method, path);
      if (!fault) return next();
      const { status, latencyMs, retryAfter } = fault.spec;
      this.served.push({ faultId: fault.id, method: req.method, path, status: status ?? null, at: this.now() });
      if (latencyMs !== undefined && latencyMs > 0) await new Promise((r) => setTimeout(r, latencyMs));
      if (status === undefined) return next();
      if (retryAfter !== undefined) res.setHeader('Retry-After', String(retryAfter));
      if (status === 429) {
        res.status(429).type('text/plain').send(RATE_LIMIT_MESSAGE);
      } else if (status === 500) {
        res.status(500).json({ type: 'error', error: { message: 'Something went wrong' } });
      } else {
        res
          .status(status)
          .type('text/html')
          .send(
            status === 502
              ? '<html><body><h1>502 Bad Gateway</h1></body></html>'
              : '<html><body><h1>503 Service Unavailable</h1></body></html>',
          );
      }
    };
  }
}
