/**
 * Runs one of our schemas and reports failures as flat issues whose `path` is the exact location of
 * the failing field, like the reference's Ajv field names: a missing required key and an unknown
 * key both point at the key itself (`[..., 'binding', 'phase']`), so a caller can classify
 * failures under `payload.receipts[i].payload.binding.*`.
 */
import type { z } from 'zod';

export interface SchemaIssue {
  path: (string | number)[];
  message: string;
  /**
   * `required` (a required key is absent), `unrecognized_keys` (a key the schema forbids), or zod's
   * code for the failed rule: invalid_type, invalid_value (const/enum), too_small/too_big
   * (minLength/maxLength/minimum/maximum/minItems/maxItems/maxProperties), invalid_format
   * (pattern/date-time/uri), custom (anyOf/oneOf/if-then of the official schema).
   */
  code: string;
}

export type SchemaValidation<T> = { ok: true; value: T } | { ok: false; issues: SchemaIssue[] };

/** True when `path` names a key that is absent from an object that is present in `root`. */
function isMissingKey(root: unknown, path: readonly (string | number)[]): boolean {
  if (path.length === 0) return false;
  let node: unknown = root;
  for (let i = 0; i < path.length - 1; i++) {
    if (typeof node !== 'object' || node === null) return false;
    node = (node as Record<string | number, unknown>)[path[i] as string | number];
  }
  if (typeof node !== 'object' || node === null || Array.isArray(node)) return false;
  return (node as Record<string, unknown>)[String(path[path.length - 1])] === undefined;
}

function toPath(path: readonly PropertyKey[]): (string | number)[] {
  return path.map((segment) => (typeof segment === 'number' ? segment : String(segment)));
}

/**
 * Puts issues in the order Ajv (allErrors) reports errors, so that `issues[0]` names the field the
 * reference verifier would classify (it looks only at Ajv's first error): at each object, rules
 * on the object itself first (anyOf/oneOf/if, maxProperties, minItems...), then missing required
 * keys, then unknown keys, then property issues in the schema's property order (zod's order).
 */
function inAjvOrder(issues: SchemaIssue[], depth = 0): SchemaIssue[] {
  const here: SchemaIssue[] = [];
  const groups = new Map<string | number, SchemaIssue[]>();
  for (const issue of issues) {
    if (issue.path.length === depth) {
      here.push(issue);
      continue;
    }
    const key = issue.path[depth] as string | number;
    const group = groups.get(key);
    if (group) group.push(issue);
    else groups.set(key, [issue]);
  }
  const rank = (group: SchemaIssue[]): number => {
    const direct = group.find((issue) => issue.path.length === depth + 1);
    if (direct?.code === 'required') return 0;
    if (direct?.code === 'unrecognized_keys') return 1;
    return 2;
  };
  const ordered = [...groups.values()].map((group, index) => ({ group, index, rank: rank(group) }));
  ordered.sort((a, b) => a.rank - b.rank || a.index - b.index);
  return [...here, ...ordered.flatMap(({ group }) => inAjvOrder(group, depth + 1))];
}

/**
 * Formats a path the way the reference verifier names fields: `payload.receipts[0].payload.binding.phase`
 * (indices in brackets, identifiers after dots, other keys as quoted brackets).
 */
export function formatIssuePath(path: readonly (string | number)[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number' || /^\d+$/.test(segment)) out += `[${segment}]`;
    else if (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(segment)) out += out.length === 0 ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

/**
 * On success `value` is the caller's own input object, not zod's rebuilt copy: our schemas never
 * transform, and the protocol hashes payloads in their parsed key order, which a copy could change.
 * On failure, issues come in the reference's error order (see `inAjvOrder`).
 */
export function validateWith<S extends z.ZodType>(schema: S, value: unknown): SchemaValidation<z.output<S>> {
  const result = schema.safeParse(value);
  if (result.success) return { ok: true, value: value as z.output<S> };
  const issues: SchemaIssue[] = [];
  for (const issue of result.error.issues) {
    const path = toPath(issue.path);
    if (issue.code === 'unrecognized_keys') {
      // One issue per unknown key, pointing at the key (as Ajv's additionalProperties errors do).
      for (const key of issue.keys)
        issues.push({ path: [...path, key], message: `must NOT have additional property '${key}'`, code: issue.code });
    } else if (isMissingKey(value, path)) {
      issues.push({
        path,
        message: `must have required property '${String(path[path.length - 1])}'`,
        code: 'required',
      });
    } else {
      issues.push({ path, message: issue.message, code: issue.code });
    }
  }
  return { ok: false, issues: inAjvOrder(issues) };
}
