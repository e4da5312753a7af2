import type { Check } from './check';

/** The identifiers a PR consumes the first time it presents them (docs/clawsig-profile.md). */
export type ConsumableKind = 'bundle_id' | 'run_id' | 'cst_jti' | 'cst_nonce' | 'receipt_id';

export interface ConsumableId {
  kind: ConsumableKind;
  value: string;
}

/** An id already consumed, and by which PR (the caller's store answers this). */
export interface ConsumedId extends ConsumableId {
  repoFullName: string;
  pullRequestId: number;
}

export interface ReplayContext {
  repoFullName: string;
  pullRequestId: number;
}

export function consumableKey(id: ConsumableId): string {
  return `${id.kind}:${id.value}`;
}

/** Deduplicated, deterministically ordered. */
export function uniqueConsumables(ids: readonly ConsumableId[]): ConsumableId[] {
  const map = new Map<string, ConsumableId>();
  for (const id of ids) if (id.value.length > 0) map.set(consumableKey(id), id);
  return [...map.values()].sort((a, b) => consumableKey(a).localeCompare(consumableKey(b)));
}

/**
 * Anti-replay as a pure function: an id consumed by ANOTHER pull request fails (REPLAY); the same PR
 * re-presenting its own ids (a re-check, a new head) is not a replay. Without a PR context (the CLI),
 * any consumed id is a replay.
 */
export function checkReplay(
  ids: readonly ConsumableId[],
  consumed: readonly ConsumedId[],
  context: ReplayContext | undefined,
): Check[] {
  const byKey = new Map(consumed.map((c) => [consumableKey(c), c]));
  const checks: Check[] = [];
  for (const id of uniqueConsumables(ids)) {
    const previous = byKey.get(consumableKey(id));
    const samePr =
      previous !== undefined &&
      context !== undefined &&
      previous.pullRequestId === context.pullRequestId &&
      previous.repoFullName.toLowerCase() === context.repoFullName.toLowerCase();
    if (previous && !samePr) {
      checks.push({
        rule: 'profile.anti_replay',
        outcome: 'fail',
        code: 'REPLAY',
        subject: {
          kind: id.kind === 'receipt_id' ? 'gateway_receipt' : id.kind.startsWith('cst') ? 'token' : 'bundle',
          id: id.value,
        },
        evidence: { kind: id.kind, first_repo: previous.repoFullName, first_pull_request: previous.pullRequestId },
      });
    }
  }
  if (checks.length === 0)
    checks.push({
      rule: 'profile.anti_replay',
      outcome: 'pass',
      code: 'OK',
      evidence: { ids_checked: uniqueConsumables(ids).length },
    });
  return checks;
}
