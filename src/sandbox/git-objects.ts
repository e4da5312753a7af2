import { createHash } from 'node:crypto';

/**
 * Commit ids are computed exactly as git computes them (blob → tree → commit object, SHA-1), so a
 * sandbox commit has the hash a real `git commit` of the same tree, parents, author, date and
 * message would have. That keeps hashes deterministic and lets a demo be cross-checked with git.
 */

function gitObjectId(kind: 'blob' | 'tree' | 'commit', body: Buffer): Buffer {
  return createHash('sha1').update(`${kind} ${body.length}\u0000`).update(body).digest();
}

interface TreeNode {
  files: Map<string, Buffer>;
  dirs: Map<string, TreeNode>;
}

function buildTree(files: ReadonlyMap<string, Buffer>): TreeNode {
  const root: TreeNode = { files: new Map(), dirs: new Map() };
  for (const [path, content] of files) {
    const parts = path.split('/');
    let node = root;
    for (const dir of parts.slice(0, -1)) {
      let child = node.dirs.get(dir);
      if (!child) {
        child = { files: new Map(), dirs: new Map() };
        node.dirs.set(dir, child);
      }
      node = child;
    }
    node.files.set(parts[parts.length - 1] ?? path, content);
  }
  return root;
}

function treeId(node: TreeNode): Buffer {
  // git sorts tree entries by name, comparing directory names as if they ended in "/".
  const entries: { sortKey: string; mode: string; name: string; id: Buffer }[] = [];
  for (const [name, content] of node.files)
    entries.push({ sortKey: name, mode: '100644', name, id: gitObjectId('blob', content) });
  for (const [name, child] of node.dirs) entries.push({ sortKey: `${name}/`, mode: '40000', name, id: treeId(child) });
  entries.sort((a, b) => (a.sortKey < b.sortKey ? -1 : a.sortKey > b.sortKey ? 1 : 0));
  const body = Buffer.concat(entries.map((e) => Buffer.concat([Buffer.from(`${e.mode} ${e.name}\u0000`), e.id])));
  return gitObjectId('tree', body);
}

export interface CommitObjectInput {
  files: ReadonlyMap<string, Buffer>;
  parents: readonly string[];
  authorName: string;
  authorEmail: string;
  dateEpochMs: number;
  message: string;
}

export function computeCommitHash(input: CommitObjectInput): string {
  const tree = treeId(buildTree(input.files)).toString('hex');
  const seconds = Math.floor(input.dateEpochMs / 1000);
  const who = `${input.authorName} <${input.authorEmail}> ${seconds} +0000`;
  const lines = [`tree ${tree}`, ...input.parents.map((p) => `parent ${p}`), `author ${who}`, `committer ${who}`];
  const message = input.message.endsWith('\n') ? input.message : `${input.message}\n`;
  return gitObjectId('commit', Buffer.from(`${lines.join('\n')}\n\n${message}`)).toString('hex');
}
