import { createHash } from 'node:crypto';
import { Router } from 'express';
import { ApiError } from '../api-errors';
import { commitsBetween, declaredRenamesBetween, diffTrees, mergeBase } from '../commit-graph';
import { contentTypeFor } from '../content-type';
import type { Commit, Repository } from '../model';
import { paginate } from '../pagination';
import { param, repositoryFor } from '../route-context';
import type { BitbucketSandbox } from '../sandbox';
import type { JsonObject } from '../representations';

/**
 * Commits, diffstat and raw files:
 * - GET …/commit/{commit} (full hash or unique prefix, e.g. the 12-char PR hashes);
 * - GET …/diffstat/{spec} with spec `<sha>` (vs first parent), `<src>..<dst>` or the PR form
 *   `ws/repo:<src>%0D<dst>` (first = commit with changes, second = base); `topic=true`
 *   (three-dot, vs merge base) is the default for PR links; pagelen default 500, max 5000;
 * - GET …/src/{commit}/{path}: raw bytes, 404 when missing; directories → paginated listing;
 *   `?format=meta` → commit_file JSON.
 */
export function sourceRoutes(sandbox: BitbucketSandbox): Router {
  const router = Router();
  const R = '/repositories/:workspace/:repo_slug';

  const commitOr404 = (repo: Repository, ref: string): Commit => {
    const commit = sandbox.resolveCommit(repo, ref);
    if (!commit) throw new ApiError(404, `Commit not found`);
    return commit;
  };

  router.get(`${R}/commit/:commit`, (req, res) => {
    const { repo } = repositoryFor(sandbox, req, res, 'repository');
    res.json(sandbox.rep.commit(repo, commitOr404(repo, param(req, 'commit'))));
  });

  router.get(`${R}/commits/*revision`, (req, res) => {
    const { repo } = repositoryFor(sandbox, req, res, 'repository');
    const head = commitOr404(repo, param(req, 'revision'));
    // `exclude`: commits reachable from it are left out (Bitbucket's `commits/{revision}?exclude=`).
    const exclude = typeof req.query.exclude === 'string' ? commitOr404(repo, req.query.exclude).hash : null;
    const list = commitsBetween(repo, head.hash, exclude).map((c) => sandbox.rep.commit(repo, c));
    res.json(paginate(req, sandbox.baseUrl, list, { includeSize: false }));
  });

  router.get(`${R}/diffstat/*spec`, (req, res) => {
    const { repo } = repositoryFor(sandbox, req, res, 'repository');
    const spec = param(req, 'spec');
    const prForm = /^[^:]+:([0-9a-f]+)\r([0-9a-f]+)$/.exec(spec);
    const dotForm = /^([^.]+)\.\.([^.]+)$/.exec(spec);
    let head: Commit;
    let base: Commit | null;
    if (prForm || dotForm) {
      const m = (prForm ?? dotForm) as RegExpExecArray;
      head = commitOr404(repo, m[1] ?? '');
      const other = commitOr404(repo, m[2] ?? '');
      const topic = req.query.topic === undefined ? true : req.query.topic !== 'false';
      const mb = topic ? mergeBase(repo, head.hash, other.hash) : other.hash;
      base = mb ? commitOr404(repo, mb) : null;
    } else {
      head = commitOr404(repo, spec);
      base = head.parents[0] ? commitOr404(repo, head.parents[0]) : null;
    }
    const renames = declaredRenamesBetween(repo, head.hash, base?.hash ?? null);
    const values: JsonObject[] = diffTrees(base?.tree ?? new Map(), head.tree, renames).map((c) => ({
      type: 'diffstat',
      lines_added: c.linesAdded,
      lines_removed: c.linesRemoved,
      status: c.status,
      old: c.oldPath !== null && base ? sandbox.rep.diffstatFile(repo, base.hash, c.oldPath) : null,
      new: c.newPath !== null ? sandbox.rep.diffstatFile(repo, head.hash, c.newPath) : null,
    }));
    res.json(paginate(req, sandbox.baseUrl, values, { defaultPagelen: 500, maxPagelen: 5000 }));
  });

  const serveSource = (
    req: Parameters<Parameters<Router['get']>[1]>[0],
    res: Parameters<Parameters<Router['get']>[1]>[1],
    path: string,
  ): void => {
    const { repo } = repositoryFor(sandbox, req, res, 'repository');
    const commit = commitOr404(repo, param(req, 'commit'));
    const clean = path.replace(/\/+$/, '');
    const content = commit.tree.get(clean);
    if (content !== undefined) {
      if (req.query.format === 'meta') {
        res.json({
          ...sandbox.rep.diffstatFile(repo, commit.hash, clean),
          size: content.length,
          attributes: [],
          commit: sandbox.rep.commitRef(repo, commit.hash),
        });
        return;
      }
      res.setHeader('Content-Type', contentTypeFor(clean));
      res.setHeader(
        'Content-Disposition',
        `attachment; filename="${encodeURIComponent(clean.split('/').pop() ?? clean)}"`,
      );
      res.setHeader('ETag', `"${createHash('sha1').update(content).digest('hex')}"`);
      res.status(200).end(content);
      return;
    }
    const prefix = clean === '' ? '' : `${clean}/`;
    const entries = new Map<string, JsonObject>();
    for (const [p, c] of commit.tree) {
      if (!p.startsWith(prefix)) continue;
      const rest = p.slice(prefix.length);
      const slash = rest.indexOf('/');
      if (slash === -1) {
        entries.set(p, {
          ...sandbox.rep.diffstatFile(repo, commit.hash, p),
          size: c.length,
          attributes: [],
          commit: sandbox.rep.commitRef(repo, commit.hash),
        });
      } else {
        const dir = `${prefix}${rest.slice(0, slash)}`;
        entries.set(dir, {
          path: dir,
          type: 'commit_directory',
          commit: sandbox.rep.commitRef(repo, commit.hash),
          links: { self: { href: sandbox.rep.repoApi(repo, `/src/${commit.hash}/${dir}/`) } },
        });
      }
    }
    if (entries.size === 0) throw new ApiError(404, `No such file or directory: ${clean}`);
    const sorted = [...entries.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, v]) => v);
    res.json(paginate(req, sandbox.baseUrl, sorted));
  };

  router.get(`${R}/src/:commit/*path`, (req, res) => serveSource(req, res, param(req, 'path')));
  router.get(`${R}/src/:commit`, (req, res) => serveSource(req, res, ''));

  return router;
}
