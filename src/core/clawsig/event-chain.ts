import type { ReasonCode } from '../reason-codes';
import { stringifyHashB64u } from './hashing';
import { isJsonObject } from './json';

export interface EventChainResult {
  /** True when linkage and every event hash hold. A bundle without a chain has `present: false`. */
  present: boolean;
  valid: boolean;
  failure?: { code: ReasonCode; path: string };
  runId?: string;
  chainRootHash?: string;
  eventHashes: ReadonlySet<string>;
  events: { eventId: string; eventType: string; timestamp: string; eventHash: string }[];
}

/** The event hash input: exactly these keys in exactly this order, stringify-hashed. Not JCS. */
export function computeEventHash(event: {
  event_id: unknown;
  run_id: unknown;
  event_type: unknown;
  timestamp: unknown;
  payload_hash_b64u: unknown;
  prev_hash_b64u: unknown;
}): string {
  return stringifyHashB64u({
    event_id: event.event_id,
    run_id: event.run_id,
    event_type: event.event_type,
    timestamp: event.timestamp,
    payload_hash_b64u: event.payload_hash_b64u,
    prev_hash_b64u: event.prev_hash_b64u ?? null,
  });
}

/**
 * The reference's chain rules: one run_id across the chain, linkage (first prev null, each prev = previous hash)
 * checked over all events before any hash is recomputed, then every event hash recomputed.
 */
export function verifyEventChain(chain: unknown): EventChainResult {
  const empty: EventChainResult = { present: false, valid: false, eventHashes: new Set(), events: [] };
  if (!Array.isArray(chain) || chain.length === 0) return empty;
  const events = chain.filter(isJsonObject);
  if (events.length !== chain.length)
    return { ...empty, present: true, failure: { code: 'MALFORMED_ENVELOPE', path: 'payload.event_chain' } };
  const runId = events[0]?.run_id;
  const fail = (code: ReasonCode, index: number, field: string): EventChainResult => ({
    ...empty,
    present: true,
    failure: { code, path: `payload.event_chain[${index}].${field}` },
  });
  for (let i = 0; i < events.length; i++) {
    if (typeof runId !== 'string' || events[i]?.run_id !== runId) return fail('MALFORMED_ENVELOPE', i, 'run_id');
  }
  for (let i = 0; i < events.length; i++) {
    const prev = events[i]?.prev_hash_b64u;
    if (i === 0) {
      if (prev !== null && prev !== '') return fail('MALFORMED_ENVELOPE', 0, 'prev_hash_b64u');
    } else if (prev !== events[i - 1]?.event_hash_b64u) {
      return fail('MALFORMED_ENVELOPE', i, 'prev_hash_b64u');
    }
  }
  const hashes = new Set<string>();
  const summaries: EventChainResult['events'] = [];
  for (let i = 0; i < events.length; i++) {
    const event = events[i];
    if (!event) continue;
    const expected = computeEventHash({
      event_id: event.event_id,
      run_id: event.run_id,
      event_type: event.event_type,
      timestamp: event.timestamp,
      payload_hash_b64u: event.payload_hash_b64u,
      prev_hash_b64u: i === 0 ? null : event.prev_hash_b64u,
    });
    if (expected !== event.event_hash_b64u) return fail('HASH_MISMATCH', i, 'event_hash_b64u');
    hashes.add(expected);
    summaries.push({
      eventId: String(event.event_id),
      eventType: String(event.event_type),
      timestamp: String(event.timestamp),
      eventHash: expected,
    });
  }
  return {
    present: true,
    valid: true,
    runId: typeof runId === 'string' ? runId : undefined,
    chainRootHash: summaries[0]?.eventHash,
    eventHashes: hashes,
    events: summaries,
  };
}
