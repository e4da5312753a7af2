import { readFileSync } from 'node:fs';
import path from 'node:path';

let cached: string | undefined;

/** clawgate's version from its package.json (two levels above both src/evidence and dist/evidence). */
export function clawgateVersion(): string {
  if (cached !== undefined) return cached;
  try {
    const pkg = JSON.parse(readFileSync(path.resolve(__dirname, '..', '..', 'package.json'), 'utf8')) as {
      version?: unknown;
    };
    cached = typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    cached = 'unknown';
  }
  return cached;
}
