import { Router, type Request } from 'express';
import { ApiError } from '../api-errors';
import type { User } from '../model';
import { paginate } from '../pagination';
import { principalOf } from '../request-auth';
import { param, requireScope } from '../route-context';
import type { BitbucketSandbox } from '../sandbox';

/**
 * `GET /2.0/workspaces/{ws}/permissions` (scope `account`: workspace memberships, owner |
 * collaborator | member) and `GET /2.0/workspaces/{ws}/permissions/repositories/{slug}` (scope
 * `repository`: admin | write | read). Both accept the one BBQL filter clawgate sends,
 * `q=user.uuid="{…}"` or `q=user.account_id="…"`; any other `q` is a 400, as an unsupported query
 * is on Bitbucket. Values come from the sandbox's PermissionBook.
 */
const USER_FILTER = /^\s*user\.(uuid|account_id)\s*=\s*"([^"]+)"\s*$/;

function userFilter(req: Request): ((user: User) => boolean) | undefined {
  const q = req.query.q;
  if (q === undefined) return undefined;
  const match = typeof q === 'string' ? USER_FILTER.exec(q) : null;
  if (!match) throw new ApiError(400, `Invalid query: ${String(q)}`);
  const [, field, value] = match;
  return field === 'uuid'
    ? (user) => user.uuid.toLowerCase() === (value ?? '').toLowerCase()
    : (user) => user.accountId === value;
}

export function permissionRoutes(sandbox: BitbucketSandbox): Router {
  const router = Router();

  const workspaceFor = (req: Request, res: Parameters<typeof principalOf>[0], scope: string) => {
    const p = principalOf(res);
    const ws = sandbox.findWorkspace(param(req, 'workspace'));
    if (!ws) throw new ApiError(404, `No workspace with identifier '${param(req, 'workspace')}'.`);
    const own = p.kind === 'connect' ? p.installation.workspace : p.token.workspace;
    if (own.uuid !== ws.uuid) throw new ApiError(403, 'Access denied to this workspace.');
    requireScope(p, scope);
    return ws;
  };

  router.get('/workspaces/:workspace/permissions', (req, res) => {
    const ws = workspaceFor(req, res, 'account');
    const filter = userFilter(req) ?? (() => true);
    const values = sandbox
      .allUsers()
      .filter(filter)
      .map((user) => ({ user, permission: sandbox.permissions.workspacePermission(ws, user) }))
      .filter((entry) => entry.permission !== 'none')
      .map((entry) => ({
        type: 'workspace_membership',
        permission: entry.permission,
        user: sandbox.rep.user(entry.user),
        workspace: sandbox.rep.workspaceSummary(ws),
      }));
    res.json(paginate(req, sandbox.baseUrl, values));
  });

  router.get('/workspaces/:workspace/permissions/repositories/:repo_slug', (req, res) => {
    const ws = workspaceFor(req, res, 'repository');
    const repo = sandbox.findRepository(ws.uuid, param(req, 'repo_slug'));
    if (!repo) throw new ApiError(404, `Repository ${ws.slug}/${param(req, 'repo_slug')} not found`);
    const p = principalOf(res);
    if (p.kind === 'access-token' && p.token.repository !== null && p.token.repository.uuid !== repo.uuid)
      throw new ApiError(403, 'Access denied. You must have access to this repository.');
    const filter = userFilter(req) ?? (() => true);
    const values = sandbox
      .allUsers()
      .filter(filter)
      .map((user) => ({ user, permission: sandbox.permissions.repositoryPermission(repo, user) }))
      .filter((entry) => entry.permission !== 'none')
      .map((entry) => ({
        type: 'repository_permission',
        permission: entry.permission,
        user: sandbox.rep.user(entry.user),
        repository: { type: 'repository', name: repo.name, full_name: repo.fullName, uuid: repo.uuid },
      }));
    res.json(paginate(req, sandbox.baseUrl, values));
  });

  return router;
}
