/**
 * Repository-relative paths as the policy sees them. A path must not be able to dodge a deny glob by
 * its spelling, so every path is brought to one form before it is matched or compared:
 * backslashes become `/`, Unicode is NFC (macOS tools emit NFD), leading `/` and `./` go, empty and
 * `.` segments go, `..` is resolved (and cannot climb above the root), a trailing `/` goes.
 * Case is kept: callers that compare case-insensitively lower-case on their own.
 */
export function normalizeRepoPath(path: string): string {
  const segments: string[] = [];
  for (const segment of path.normalize('NFC').replace(/\\/g, '/').split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') {
      segments.pop();
      continue;
    }
    segments.push(segment);
  }
  return segments.join('/');
}

/**
 * The path itself and every directory above it (`a/b/c` → `a`, `a/b`, `a/b/c`), so that a glob that
 * names a directory (`docs/private`, `**\/.github`) also catches what lies below it, as in .gitignore.
 */
export function pathAndAncestors(normalizedPath: string): string[] {
  const segments = normalizedPath.split('/');
  const result: string[] = [];
  for (let i = 1; i <= segments.length; i++) result.push(segments.slice(0, i).join('/'));
  return result;
}

/** Key for case-insensitive path comparison (provenance): normalised, then lower-cased. */
export function repoPathKey(path: string): string {
  return normalizeRepoPath(path).toLowerCase();
}
