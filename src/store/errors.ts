/**
 * Errors the store raises on purpose; callers map `code` to an HTTP answer in one place.
 * Messages never contain secrets or document bodies.
 */
export type StoreErrorCode =
  /** Optimistic concurrency: the row changed since the caller read it. */
  | 'VERSION_CONFLICT'
  /** A bundle id is already stored in this workspace with different content. */
  | 'BUNDLE_ID_CONFLICT'
  /** An assignment names a policy hash the workspace does not have (or has retired). */
  | 'UNKNOWN_POLICY'
  /** A policy document does not hash to the hash it is stored under. */
  | 'POLICY_HASH_MISMATCH'
  /** Input the store refuses (bad identifier, wrong length, unknown enum value). */
  | 'INVALID_INPUT'
  /** A stored row fails validation on read (fail closed rather than act on it). */
  | 'CORRUPT_ROW';

export class StoreError extends Error {
  override readonly name = 'StoreError';

  constructor(
    readonly code: StoreErrorCode,
    message: string,
  ) {
    super(message);
  }
}
