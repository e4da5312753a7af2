import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { ChangeCommit, ChangedFile } from '../core/policy/change-set';
import { InputError } from './input-file';

const run = promisify(execFile);

/** Bounds: as the --changes file schema (100,000 files, 10,000 commits); git output ≤ 64 MiB. */
const MAX_OUTPUT = 64 * 1024 * 1024;
const MAX_COMMITS = 10_000;

async function git(cwd: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await run('git', args, { cwd, maxBuffer: MAX_OUTPUT, encoding: 'utf8' });
    return stdout;
  } catch (error) {
    const detail = (error as { stderr?: string }).stderr?.trim().split('\n')[0] ?? (error as Error).message;
    throw new InputError(`git ${args[0] ?? ''} failed: ${detail}`);
  }
}

/** `git diff --name-status -z` records → ChangedFile (both sides of a rename kept). */
function parseNameStatus(out: string): ChangedFile[] {
  const parts = out.split('\0').filter((p) => p !== '');
  const files: ChangedFile[] = [];
  for (let i = 0; i < parts.length;) {
    const code = parts[i++] ?? '';
    if (code.startsWith('R') || code.startsWith('C')) {
      const oldPath = parts[i++] ?? '';
      const path = parts[i++] ?? '';
      files.push(code.startsWith('R') ? { status: 'renamed', path, oldPath } : { status: 'added', path });
    } else {
      const path = parts[i++] ?? '';
      files.push({ status: code === 'A' ? 'added' : code === 'D' ? 'removed' : 'modified', path });
    }
  }
  return files;
}

export interface LocalChange {
  head: string;
  sourceBranch: string;
  files: ChangedFile[];
  commits: ChangeCommit[];
}

/**
 * The change a PR from the current branch into `base` will show, read from the local repository:
 * files changed between the merge base and HEAD (as Bitbucket's diffstat lists them), the commits
 * (oldest first) with the paths each touched. What the pipeline reads from Bitbucket, read from git.
 */
export async function localChange(cwd: string, base: string, headRef = 'HEAD'): Promise<LocalChange> {
  const head = (await git(cwd, ['rev-parse', '--verify', `${headRef}^{commit}`])).trim();
  const mergeBase = (await git(cwd, ['merge-base', base, head])).trim();
  const sourceBranch = (await git(cwd, ['rev-parse', '--abbrev-ref', headRef])).trim();
  const files = parseNameStatus(await git(cwd, ['diff', '--name-status', '-M', '-z', mergeBase, head]));
  const hashes = (await git(cwd, ['rev-list', '--reverse', `${mergeBase}..${head}`]))
    .split('\n')
    .filter((h) => /^[0-9a-f]{40}$/.test(h));
  if (hashes.length > MAX_COMMITS)
    throw new InputError(`the branch has ${hashes.length} commits over ${base}; the limit is ${MAX_COMMITS}`);
  const commits: ChangeCommit[] = [];
  for (const hash of hashes) {
    const touched = parseNameStatus(
      await git(cwd, ['diff-tree', '--no-commit-id', '--name-status', '-r', '-M', '-z', '--root', hash]),
    );
    const paths = new Set<string>();
    for (const f of touched) {
      paths.add(f.path);
      if (f.oldPath) paths.add(f.oldPath);
    }
    commits.push({ hash, paths: [...paths] });
  }
  return { head, sourceBranch: sourceBranch === 'HEAD' ? 'detached' : sourceBranch, files, commits };
}
