import type { JsonValue } from './check';

/** Turns facts (which may hold `undefined`) into JSON-safe evidence. */
export function toEvidence(value: unknown): JsonValue {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (Array.isArray(value)) return value.map(toEvidence);
  if (value instanceof Set) return [...value].map(toEvidence);
  if (typeof value === 'object') {
    const out: { [key: string]: JsonValue } = {};
    for (const [key, item] of Object.entries(value))
      if (item !== undefined && typeof item !== 'function') out[key] = toEvidence(item);
    return out;
  }
  return null;
}

export function evidenceObject(value: { [key: string]: unknown }): { [key: string]: JsonValue } {
  const converted = toEvidence(value);
  return typeof converted === 'object' && converted !== null && !Array.isArray(converted) ? converted : {};
}
