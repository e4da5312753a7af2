import express, { type Express, type Request } from 'express';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { createQueryStringHash, decodeSymmetric, fromMethodAndUrl, SymmetricAlgorithm } from 'atlassian-jwt';

/**
 * A real HTTP server on 127.0.0.1:0 standing in for api.bitbucket.org. It verifies Connect JWTs the
 * way Bitbucket does — HS256 with the shared secret, then the qsh recomputed from the method, path
 * and query it actually received — and answers 401 when they do not hold.
 */

export const APP_KEY = 'clawgate-test-app';
export const CLIENT_KEY = 'ari:cloud:bitbucket::app/{0b0e0c9a-1111-2222-3333-444455556666}/clawgate-test-app';
export const SHARED_SECRET = 'shared-secret-7f3a9c1e5b2d4f60a8c7e9b1d3f5a7c9';

export interface ReceivedJwt {
  claims: { iss: string; sub: string; iat: number; exp: number; qsh: string };
  expectedQsh: string;
}

export interface ReceivedRequest {
  method: string;
  /** Path and query exactly as received. */
  url: string;
  authorization: string | undefined;
  jwt: ReceivedJwt | undefined;
  body: unknown;
}

export interface FakeBitbucket {
  url: string;
  /** `127.0.0.1:<port>` — what goes into allowedHosts. */
  host: string;
  received: ReceivedRequest[];
  close(): Promise<void>;
}

export interface FakeBitbucketOptions {
  /** Verify `Authorization: JWT` (default true). When false, requests are only recorded. */
  verifyJwt?: boolean;
  routes: (app: Express) => void;
}

function verifyJwt(req: Request): { jwt?: ReceivedJwt; problem?: string } {
  const header = req.get('authorization');
  if (!header?.startsWith('JWT ')) return { problem: 'missing JWT' };
  let claims: ReceivedJwt['claims'];
  try {
    claims = decodeSymmetric(header.slice(4), SHARED_SECRET, SymmetricAlgorithm.HS256) as ReceivedJwt['claims'];
  } catch (error) {
    return { problem: `bad signature: ${(error as Error).message}` };
  }
  const expectedQsh = createQueryStringHash(fromMethodAndUrl(req.method, req.originalUrl));
  const jwt = { claims, expectedQsh };
  if (claims.iss !== APP_KEY) return { jwt, problem: 'iss' };
  if (claims.sub !== CLIENT_KEY) return { jwt, problem: 'sub' };
  if (claims.exp <= Math.floor(Date.now() / 1000)) return { jwt, problem: 'expired' };
  if (claims.qsh !== expectedQsh) return { jwt, problem: 'qsh mismatch' };
  return { jwt };
}

export async function startFakeBitbucket(options: FakeBitbucketOptions): Promise<FakeBitbucket> {
  const received: ReceivedRequest[] = [];
  const app = express();
  app.use(express.json({ limit: '1mb' }));
  app.use((req, res, next) => {
    const verification = options.verifyJwt === false ? {} : verifyJwt(req);
    received.push({
      method: req.method,
      url: req.originalUrl,
      authorization: req.get('authorization'),
      jwt: verification.jwt,
      body: req.body,
    });
    if (verification.problem !== undefined) {
      res.status(401).json({ type: 'error', error: { message: `Token is invalid: ${verification.problem}` } });
      return;
    }
    next();
  });
  options.routes(app);
  app.use((req, res) => {
    res.status(404).json({ type: 'error', error: { message: `No route ${req.method} ${req.path}` } });
  });
  const server: Server = await new Promise((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    received,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
