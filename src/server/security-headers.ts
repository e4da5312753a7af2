import type { NextFunction, Request, Response } from 'express';

/** HSTS (≥ 1 year) and basic hardening on every response (docs/operations.md, Marketplace baseline). */
export function securityHeaders(_req: Request, res: Response, next: NextFunction): void {
  res.setHeader('Strict-Transport-Security', 'max-age=31536000; includeSubDomains');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  next();
}
