import type { Repository, User, Workspace } from './model';

/**
 * Who may do what, as `GET /2.0/workspaces/{ws}/permissions[/repositories/{slug}]` report it.
 * Defaults (so tests only set what they are about): the workspace's admin account (the one that
 * installs apps) owns the workspace and is admin of every repository; a repository's creator is its
 * admin; every other known user is a workspace `member` with `read` on repositories. Tests override
 * with setWorkspacePermission / setRepositoryPermission.
 */
export type SandboxRepositoryPermission = 'admin' | 'write' | 'read' | 'none';
export type SandboxWorkspacePermission = 'owner' | 'collaborator' | 'member' | 'none';

export class PermissionBook {
  private readonly workspaces = new Map<string, Map<string, SandboxWorkspacePermission>>();
  private readonly repositories = new Map<string, Map<string, SandboxRepositoryPermission>>();
  private readonly creators = new Map<string, string>();

  constructor(private readonly isWorkspaceAdmin: (ws: Workspace, user: User) => boolean) {}

  recordCreator(repo: Repository, user: User): void {
    this.creators.set(repo.uuid, user.accountId);
  }

  setWorkspacePermission(ws: Workspace, user: User, permission: SandboxWorkspacePermission): void {
    let map = this.workspaces.get(ws.uuid);
    if (!map) this.workspaces.set(ws.uuid, (map = new Map()));
    map.set(user.accountId, permission);
  }

  setRepositoryPermission(repo: Repository, user: User, permission: SandboxRepositoryPermission): void {
    let map = this.repositories.get(repo.uuid);
    if (!map) this.repositories.set(repo.uuid, (map = new Map()));
    map.set(user.accountId, permission);
  }

  workspacePermission(ws: Workspace, user: User): SandboxWorkspacePermission {
    const explicit = this.workspaces.get(ws.uuid)?.get(user.accountId);
    if (explicit !== undefined) return explicit;
    return this.isWorkspaceAdmin(ws, user) ? 'owner' : 'member';
  }

  repositoryPermission(repo: Repository, user: User): SandboxRepositoryPermission {
    const explicit = this.repositories.get(repo.uuid)?.get(user.accountId);
    if (explicit !== undefined) return explicit;
    if (this.workspacePermission(repo.workspace, user) === 'owner') return 'admin';
    if (this.creators.get(repo.uuid) === user.accountId) return 'admin';
    return 'read';
  }
}
