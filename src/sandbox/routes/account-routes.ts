import { Router } from 'express';
import { ApiError } from '../api-errors';
import { principalOf } from '../request-auth';
import { paginate } from '../pagination';
import { param, repositoryFor, requireScope } from '../route-context';
import type { BitbucketSandbox } from '../sandbox';

/**
 * GET /2.0/user, /2.0/workspaces/{ws}, /2.0/repositories/{ws}/{slug}: what an install proof reads;
 * GET /2.0/repositories/{ws}: the repositories the principal can see (a repository access token
 * sees its one), paginated, as registration lists them.
 */
export function accountRoutes(sandbox: BitbucketSandbox): Router {
  const router = Router();

  router.get('/user', (_req, res) => {
    const p = principalOf(res);
    res.json(sandbox.rep.appUser(p.kind === 'connect' ? p.installation.identity : p.token.identity));
  });

  router.get('/workspaces/:workspace', (req, res) => {
    const p = principalOf(res);
    const ws = sandbox.findWorkspace(param(req, 'workspace'));
    if (!ws) throw new ApiError(404, `No workspace with identifier '${param(req, 'workspace')}'.`);
    const own = p.kind === 'connect' ? p.installation.workspace : p.token.workspace;
    if (own.uuid !== ws.uuid) throw new ApiError(403, 'Access denied to this workspace.');
    res.json(sandbox.rep.workspace(ws));
  });

  router.get('/repositories/:workspace', (req, res) => {
    const p = principalOf(res);
    const ws = sandbox.findWorkspace(param(req, 'workspace'));
    if (!ws) throw new ApiError(404, `No workspace with identifier '${param(req, 'workspace')}'.`);
    requireScope(p, 'repository');
    const own = p.kind === 'connect' ? p.installation.workspace : p.token.workspace;
    const visible =
      own.uuid !== ws.uuid
        ? []
        : sandbox
            .repositoriesOf(ws.uuid)
            .filter(
              (repo) => p.kind === 'connect' || p.token.repository === null || p.token.repository.uuid === repo.uuid,
            );
    res.json(
      paginate(
        req,
        sandbox.baseUrl,
        visible.map((repo) => ({ ...sandbox.rep.repositoryDetail(repo), slug: repo.slug })),
      ),
    );
  });

  router.get('/repositories/:workspace/:repo_slug', (req, res) => {
    const { repo } = repositoryFor(sandbox, req, res, 'repository');
    res.json(sandbox.rep.repositoryDetail(repo));
  });

  router.get('/repositories/:workspace/:repo_slug/refs/branches/*name', (req, res) => {
    const { repo } = repositoryFor(sandbox, req, res, 'repository');
    const name = param(req, 'name');
    const head = repo.branches.get(name);
    const commit = head ? repo.commits.get(head) : undefined;
    if (!commit) throw new ApiError(404, `Branch "${name}" not found`);
    res.json(sandbox.rep.branch(repo, name, commit));
  });

  return router;
}
