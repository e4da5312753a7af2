import type { z } from 'zod';
import { formatPath } from '../core/policy';
import type { ApiFieldError } from './http-error';

/**
 * zod issues as API field errors, with the same path notation the WPC parser uses
 * (`agents[1].account_uuid`). An unknown key is reported at its own path, so a typo points at itself.
 */
export function zodIssuesToFields(
  issues: readonly z.core.$ZodIssue[],
  prefix: readonly PropertyKey[] = [],
): ApiFieldError[] {
  const fields: ApiFieldError[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys)
        fields.push({ path: formatPath([...prefix, ...issue.path, key]), message: 'unknown field' });
    } else {
      fields.push({ path: formatPath([...prefix, ...issue.path]), message: issue.message });
    }
  }
  return fields;
}

/** Prefixes a field path produced by another parser (e.g. the WPC's) with the place it sits in the body. */
export function prefixFieldPath(prefix: string, path: string): string {
  if (prefix === '') return path;
  if (path === '') return prefix;
  return path.startsWith('[') ? `${prefix}${path}` : `${prefix}.${path}`;
}
