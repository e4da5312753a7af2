import { StoreError } from './errors';

/**
 * An enum column read back: the value itself when `allowed` lists it, else a CORRUPT_ROW (fail
 * closed) — never a cast, so a row written by a newer or broken version cannot pass for a known value.
 */
export function storedEnum<T extends string>(allowed: readonly T[], value: string, what: string): T {
  const known = allowed.find((candidate) => candidate === value);
  if (known === undefined) throw new StoreError('CORRUPT_ROW', `stored ${what} has an unknown value`);
  return known;
}
