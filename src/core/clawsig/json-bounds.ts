/**
 * A cheap walk over a parsed JSON value that refuses oversized shapes before anything costly (schema
 * validation, hashing, signature checks) runs on them. Iterative, so a deeply nested value cannot
 * overflow the stack, and it stops at the first excess. Written by hand: it is a dozen lines over a
 * plain JSON tree, and no schema library bounds the whole tree before it starts validating.
 */
export interface JsonBounds {
  /** The longest array anywhere in the value. */
  maxArrayLength: number;
  /** Nesting depth (the root is depth 0). */
  maxDepth: number;
  /** Every array element, object member and the root, counted together. */
  maxValues: number;
}

/** The clawgate profile's bounds for a proof bundle: the protocol's largest list is 1,000 entries. */
export const BUNDLE_BOUNDS: JsonBounds = { maxArrayLength: 1000, maxDepth: 64, maxValues: 250_000 };

export interface JsonBoundsExcess {
  kind: 'array_length' | 'depth' | 'values';
  /** Where, as a field path (`payload.receipts`). */
  path: string;
  limit: number;
}

function childPath(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`;
  return parent === '' ? key : `${parent}.${key}`;
}

export function jsonBoundsExcess(value: unknown, bounds: JsonBounds): JsonBoundsExcess | undefined {
  const stack: { value: unknown; depth: number; path: string }[] = [{ value, depth: 0, path: '' }];
  let values = 0;
  while (stack.length > 0) {
    const node = stack.pop() as { value: unknown; depth: number; path: string };
    values += 1;
    if (values > bounds.maxValues) return { kind: 'values', path: node.path, limit: bounds.maxValues };
    if (typeof node.value !== 'object' || node.value === null) continue;
    if (node.depth >= bounds.maxDepth) return { kind: 'depth', path: node.path, limit: bounds.maxDepth };
    if (Array.isArray(node.value)) {
      if (node.value.length > bounds.maxArrayLength)
        return { kind: 'array_length', path: node.path, limit: bounds.maxArrayLength };
      for (let i = node.value.length - 1; i >= 0; i--)
        stack.push({ value: node.value[i] as unknown, depth: node.depth + 1, path: childPath(node.path, i) });
    } else {
      const entries = Object.entries(node.value as Record<string, unknown>);
      if (values + entries.length > bounds.maxValues)
        return { kind: 'values', path: node.path, limit: bounds.maxValues };
      for (let i = entries.length - 1; i >= 0; i--) {
        const [key, child] = entries[i] as [string, unknown];
        stack.push({ value: child, depth: node.depth + 1, path: childPath(node.path, key) });
      }
    }
  }
  return undefined;
}
