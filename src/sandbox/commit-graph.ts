import type { Commit, Repository } from './model';
import { countLineChanges } from './line-diff';

/** Graph walks over a repository's commits: ancestry, merge base, ranges, tree diffs. */

export function ancestorsOf(repo: Repository, head: string): Set<string> {
  const seen = new Set<string>();
  const stack = [head];
  while (stack.length > 0) {
    const hash = stack.pop();
    if (hash === undefined || seen.has(hash)) continue;
    seen.add(hash);
    const commit = repo.commits.get(hash);
    if (commit) stack.push(...commit.parents);
  }
  return seen;
}

/**
 * Commits reachable from `head` but not from `exclude`, newest first (children before parents,
 * ties broken by date, then hash), like `git log exclude..head`.
 */
export function commitsBetween(repo: Repository, head: string, exclude: string | null): Commit[] {
  const excluded = exclude ? ancestorsOf(repo, exclude) : new Set<string>();
  const included = [...ancestorsOf(repo, head)].filter((h) => !excluded.has(h));
  const pending = new Set(included);
  const childCount = new Map<string, number>(included.map((h) => [h, 0]));
  for (const h of included) {
    for (const p of repo.commits.get(h)?.parents ?? []) {
      if (pending.has(p)) childCount.set(p, (childCount.get(p) ?? 0) + 1);
    }
  }
  const result: Commit[] = [];
  const ready = included.filter((h) => childCount.get(h) === 0);
  while (ready.length > 0) {
    ready.sort((x, y) => compareNewestFirst(repo.commits.get(x), repo.commits.get(y), x, y));
    const next = ready.shift();
    if (next === undefined) break;
    const commit = repo.commits.get(next);
    if (!commit) continue;
    result.push(commit);
    for (const p of commit.parents) {
      if (!pending.has(p)) continue;
      const left = (childCount.get(p) ?? 1) - 1;
      childCount.set(p, left);
      if (left === 0) ready.push(p);
    }
  }
  return result;
}

function compareNewestFirst(a: Commit | undefined, b: Commit | undefined, ha: string, hb: string): number {
  const da = a?.date ?? 0;
  const db = b?.date ?? 0;
  if (da !== db) return db - da;
  return ha < hb ? -1 : ha > hb ? 1 : 0;
}

/** The best common ancestor (newest by the ordering above), or null for unrelated histories. */
export function mergeBase(repo: Repository, a: string, b: string): string | null {
  const ofA = ancestorsOf(repo, a);
  const common = commitsBetween(repo, b, null).filter((c) => ofA.has(c.hash));
  return common[0]?.hash ?? null;
}

export interface TreeChange {
  status: 'added' | 'removed' | 'modified' | 'renamed';
  oldPath: string | null;
  newPath: string | null;
  linesAdded: number;
  linesRemoved: number;
}

/**
 * Diff of two trees. Renames come from two sources: renames the commits in the range declared
 * (explicit), and removed/added pairs with identical content (git's 100 % similarity rename).
 */
export function diffTrees(
  oldTree: ReadonlyMap<string, Buffer>,
  newTree: ReadonlyMap<string, Buffer>,
  declaredRenames: ReadonlyMap<string, string>,
): TreeChange[] {
  const removed = [...oldTree.keys()].filter((p) => !newTree.has(p));
  const added = new Set([...newTree.keys()].filter((p) => !oldTree.has(p)));
  const changes: TreeChange[] = [];
  const renamedFrom = new Set<string>();

  for (const oldPath of removed) {
    const declared = declaredRenames.get(oldPath);
    let newPath: string | undefined = declared !== undefined && added.has(declared) ? declared : undefined;
    if (newPath === undefined) {
      const content = oldTree.get(oldPath);
      newPath = [...added].sort().find((p) => content !== undefined && newTree.get(p)?.equals(content));
    }
    if (newPath === undefined) continue;
    added.delete(newPath);
    renamedFrom.add(oldPath);
    const counts = countLineChanges(oldTree.get(oldPath) ?? null, newTree.get(newPath) ?? null);
    changes.push({ status: 'renamed', oldPath, newPath, linesAdded: counts.added, linesRemoved: counts.removed });
  }
  for (const path of removed) {
    if (renamedFrom.has(path)) continue;
    const counts = countLineChanges(oldTree.get(path) ?? null, null);
    changes.push({ status: 'removed', oldPath: path, newPath: null, linesAdded: 0, linesRemoved: counts.removed });
  }
  for (const path of added) {
    const counts = countLineChanges(null, newTree.get(path) ?? null);
    changes.push({ status: 'added', oldPath: null, newPath: path, linesAdded: counts.added, linesRemoved: 0 });
  }
  for (const [path, content] of newTree) {
    const before = oldTree.get(path);
    if (before === undefined || before.equals(content)) continue;
    const counts = countLineChanges(before, content);
    changes.push({
      status: 'modified',
      oldPath: path,
      newPath: path,
      linesAdded: counts.added,
      linesRemoved: counts.removed,
    });
  }
  return changes.sort((x, y) => {
    const px = x.newPath ?? x.oldPath ?? '';
    const py = y.newPath ?? y.oldPath ?? '';
    return px < py ? -1 : px > py ? 1 : 0;
  });
}

/** Renames declared by the commits in `exclude..head`, composed oldest → newest. */
export function declaredRenamesBetween(repo: Repository, head: string, exclude: string | null): Map<string, string> {
  const composed = new Map<string, string>();
  for (const commit of commitsBetween(repo, head, exclude).reverse()) {
    for (const [from, to] of commit.renames) {
      let origin = from;
      for (const [o, current] of composed) {
        if (current === from) {
          origin = o;
          composed.delete(o);
          break;
        }
      }
      composed.set(origin, to);
    }
  }
  return composed;
}
