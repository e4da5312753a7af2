import type { Database } from './database';
import type { Models } from './models';
import type { SecretBox } from './secret-box';

/** What every repository is built from. */
export interface RepositoryContext {
  readonly db: Database;
  readonly models: Models;
  readonly secretBox: SecretBox;
  /** The store's clock; strictly increasing within the process so "newest first" has no ties. */
  readonly now: () => Date;
}

/** Wraps a clock so that successive readings in this process never repeat or go backwards. */
export function monotonicClock(clock: () => Date): () => Date {
  let last = 0;
  return () => {
    const reading = clock().getTime();
    last = reading > last ? reading : last + 1;
    return new Date(last);
  };
}
