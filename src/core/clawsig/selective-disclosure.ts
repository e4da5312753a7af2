import type { ReasonCode } from '../reason-codes';
import { jcs, sha256B64u } from './hashing';
import { isJsonObject } from './json';

export const DISCLOSURE_ALGORITHM = 'vir_v2_typed_lexicographical';

/** The JSON type name of a runtime value, as the disclosure `type` field declares it. */
export function jsonTypeOf(value: unknown): 'string' | 'number' | 'boolean' | 'null' | 'array' | 'object' | 'other' {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  switch (typeof value) {
    case 'string':
      return 'string';
    case 'number':
      return 'number';
    case 'boolean':
      return 'boolean';
    case 'object':
      return 'object';
    default:
      return 'other';
  }
}

/** leaf = b64u(SHA-256(path + ":" + JCS({type, value, salt_b64u}))), the reference's `vir_v2_typed_lexicographical` leaf. */
export function disclosureLeafHash(path: string, leaf: { type: unknown; value: unknown; salt_b64u: unknown }): string {
  return sha256B64u(`${path}:${jcs({ type: leaf.type, value: leaf.value, salt_b64u: leaf.salt_b64u })}`);
}

/** root = b64u(SHA-256(JCS(sorted(redacted ∪ disclosed leaf hashes)))). */
export function disclosureRoot(leafHashes: readonly string[]): string {
  return sha256B64u(jcs([...leafHashes].sort()));
}

/** Checks one disclosure against the committed hash (`args_hash_b64u` or `result_hash_b64u`). */
export function checkDisclosure(disclosure: unknown, committedHash: unknown): ReasonCode | null {
  if (!isJsonObject(disclosure)) return 'SCHEMA_VALIDATION_FAILED';
  if (disclosure.disclosure_algorithm !== DISCLOSURE_ALGORITHM) return 'DISCLOSURE_ALGORITHM_UNKNOWN';
  if (disclosure.merkle_root_b64u !== committedHash) return 'DISCLOSURE_ROOT_MISMATCH';
  const leaves = isJsonObject(disclosure.disclosed_leaves) ? disclosure.disclosed_leaves : {};
  const hashes: string[] = [];
  for (const [path, leaf] of Object.entries(leaves)) {
    if (!isJsonObject(leaf)) return 'SCHEMA_VALIDATION_FAILED';
    if (jsonTypeOf(leaf.value) !== leaf.type) return 'DISCLOSURE_TYPE_MISMATCH';
    hashes.push(disclosureLeafHash(path, { type: leaf.type, value: leaf.value, salt_b64u: leaf.salt_b64u }));
  }
  const redacted = Array.isArray(disclosure.redacted_leaf_hashes_b64u)
    ? disclosure.redacted_leaf_hashes_b64u.filter((h): h is string => typeof h === 'string')
    : [];
  if (disclosureRoot([...redacted, ...hashes]) !== disclosure.merkle_root_b64u) return 'DISCLOSURE_ROOT_MISMATCH';
  return null;
}
