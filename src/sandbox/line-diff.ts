/**
 * Counts added/removed lines between two texts, as a diffstat does. Uses the LCS of the two line
 * sequences; above a size cap it falls back to a multiset comparison (exact for appends and
 * deletions, an approximation for reorders), which keeps huge synthetic files fast.
 */
const LCS_CELL_CAP = 4_000_000;

function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

export function countLineChanges(before: Buffer | null, after: Buffer | null): { added: number; removed: number } {
  const a = before ? splitLines(before.toString('utf8')) : [];
  const b = after ? splitLines(after.toString('utf8')) : [];
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const midA = a.slice(start, endA);
  const midB = b.slice(start, endB);
  const common = midA.length * midB.length > LCS_CELL_CAP ? multisetCommon(midA, midB) : lcsLength(midA, midB);
  return { added: midB.length - common, removed: midA.length - common };
}

function lcsLength(a: string[], b: string[]): number {
  let prev = new Array<number>(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    const row = new Array<number>(b.length + 1).fill(0);
    for (let j = 1; j <= b.length; j++) {
      row[j] = a[i - 1] === b[j - 1] ? (prev[j - 1] ?? 0) + 1 : Math.max(prev[j] ?? 0, row[j - 1] ?? 0);
    }
    prev = row;
  }
  return prev[b.length] ?? 0;
}

function multisetCommon(a: string[], b: string[]): number {
  const counts = new Map<string, number>();
  for (const line of a) counts.set(line, (counts.get(line) ?? 0) + 1);
  let common = 0;
  for (const line of b) {
    const n = counts.get(line) ?? 0;
    if (n > 0) {
      common++;
      counts.set(line, n - 1);
    }
  }
  return common;
}
