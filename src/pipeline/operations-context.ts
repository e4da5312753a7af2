import type { Logger } from 'pino';
import type { BitbucketClient } from '../bitbucket';
import type { AppConfig } from '../config/app-config';
import type { Store, Tenant, WorkspaceSettings } from '../store';
import type { OperationsJob } from './operations-events';
import type { StatusMarker } from './status-mark';

/** Queues a re-evaluation of a PR without a new commit (the API's recheck and the PR comment share it). */
export type RequestRecheck = (workspaceId: string, repoFullName: string, prId: number, actor: string) => Promise<{ jobId: string }>;

export interface OperationsDeps {
  store: Store;
  config: AppConfig;
  logger: Logger;
  /** Required: without it clawgate could not tell its own statuses from forged ones. */
  statusMarker: StatusMarker;
  requestRecheck: RequestRecheck;
  fetch?: typeof fetch;
}

/** What every operations handler gets for one job. */
export interface OperationContext {
  deps: OperationsDeps;
  log: Logger;
  tenant: Tenant;
  client: BitbucketClient;
  /** The workspace slug and repository slug of `job.repoFullName`. */
  workspace: string;
  repoSlug: string;
  settings: WorkspaceSettings;
  job: OperationsJob;
}

/** How an account is named in audit events. */
export function auditActor(uuid: string | null): string {
  return uuid ? `bitbucket:${uuid}` : 'bitbucket:unknown';
}

export function displayNameOf(actor: OperationsJob['actor']): string {
  return actor.displayName ?? actor.uuid ?? 'an unknown account';
}
