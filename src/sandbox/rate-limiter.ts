/**
 * Per-principal request counter over a rolling hour, as Bitbucket counts `/2.0/repositories/*`
 * (1,000/h per principal by default; Atlassian's API request limits page). Exceeding it yields 429 with no Retry-After.
 */
export class RateLimiter {
  private readonly hits = new Map<string, number[]>();

  constructor(
    public limitPerHour: number,
    private readonly now: () => number,
  ) {}

  /** Records one request; false when the principal is over its budget (the request is refused). */
  take(principalId: string): boolean {
    const cutoff = this.now() - 3_600_000;
    const list = (this.hits.get(principalId) ?? []).filter((t) => t > cutoff);
    if (list.length >= this.limitPerHour) {
      this.hits.set(principalId, list);
      return false;
    }
    list.push(this.now());
    this.hits.set(principalId, list);
    return true;
  }

  /** Requests counted for this principal in the last hour. */
  count(principalId: string): number {
    const cutoff = this.now() - 3_600_000;
    return (this.hits.get(principalId) ?? []).filter((t) => t > cutoff).length;
  }

  reset(principalId?: string): void {
    if (principalId === undefined) this.hits.clear();
    else this.hits.delete(principalId);
  }
}
