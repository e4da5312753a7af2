import fc from 'fast-check';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type Path = (string | number)[];

export function allPaths(value: Json, prefix: Path = []): Path[] {
  const out: Path[] = [prefix];
  if (Array.isArray(value)) value.forEach((item, i) => out.push(...allPaths(item, [...prefix, i])));
  else if (value !== null && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) out.push(...allPaths(v, [...prefix, k]));
  return out;
}

function get(value: Json, path: Path): Json {
  let cur: Json = value;
  for (const part of path) cur = (cur as Record<string | number, Json>)[part] as Json;
  return cur;
}

export type MutationOp =
  | 'replace_string'
  | 'append_char'
  | 'bump_number'
  | 'negate_bool'
  | 'delete'
  | 'add_key'
  | 'type_swap'
  | 'duplicate_item'
  | 'drop_item'
  | 'null_out';

export const MUTATION_OPS: MutationOp[] = [
  'replace_string',
  'append_char',
  'bump_number',
  'negate_bool',
  'delete',
  'add_key',
  'type_swap',
  'duplicate_item',
  'drop_item',
  'null_out',
];

/** Applies one mutation at `path` and returns a deep copy; returns null when the op does not change anything. */
export function mutate(root: Json, path: Path, op: MutationOp, seed: number): Json | null {
  const copy = JSON.parse(JSON.stringify(root)) as Json;
  const target = get(copy, path);
  const parentPath = path.slice(0, -1);
  const key = path[path.length - 1];
  const parent = path.length ? (get(copy, parentPath) as Record<string | number, Json> | Json[]) : undefined;
  const set = (v: Json) => {
    if (!parent || key === undefined) return v;
    (parent as Record<string | number, Json>)[key] = v;
    return copy;
  };
  switch (op) {
    case 'replace_string':
      if (typeof target !== 'string') return null;
      return set(target === `m${seed}` ? `n${seed}` : `m${seed}`);
    case 'append_char':
      if (typeof target !== 'string') return null;
      return set(`${target}${'Ab_-9'[seed % 5]}`);
    case 'bump_number':
      if (typeof target !== 'number') return null;
      return set(target + 1 + (seed % 3));
    case 'negate_bool':
      if (typeof target !== 'boolean') return null;
      return set(!target);
    case 'delete':
      if (!parent || key === undefined) return null;
      if (Array.isArray(parent)) parent.splice(Number(key), 1);
      else delete (parent as Record<string, Json>)[String(key)];
      return copy;
    case 'add_key':
      if (target === null || typeof target !== 'object' || Array.isArray(target)) return null;
      (target as Record<string, Json>)[`x_extra_${seed}`] = 'x';
      return copy;
    case 'type_swap':
      if (target === null) return set(0);
      return set(
        typeof target === 'string'
          ? seed
          : typeof target === 'number'
            ? String(target)
            : typeof target === 'boolean'
              ? 'true'
              : Array.isArray(target)
                ? {}
                : [],
      );
    case 'duplicate_item':
      if (!Array.isArray(target) || target.length === 0) return null;
      target.push(JSON.parse(JSON.stringify(target[seed % target.length])) as Json);
      return copy;
    case 'drop_item':
      if (!Array.isArray(target) || target.length === 0) return null;
      target.splice(seed % target.length, 1);
      return copy;
    case 'null_out':
      if (target === null || !parent) return null;
      return set(null);
  }
}

export const mutationArb = fc.record({ pathIndex: fc.nat(), op: fc.constantFrom(...MUTATION_OPS), seed: fc.nat(1000) });
export type { Json };
