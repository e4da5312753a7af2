import type { Logger } from 'pino';
import type { BitbucketClient } from '../bitbucket';
import type { AppConfig } from '../config/app-config';
import type { Store, Tenant } from '../store';
import { bitbucketClientFor } from './bitbucket-for-tenant';
import type { ApiBudget, JobMeter, MeterOptions } from './api-budget';

/** What both job handlers (evaluation/ and operations/) need to open a job. */
export interface JobDeps {
  store: Store;
  config: AppConfig;
  logger: Logger;
  fetch?: typeof fetch;
  /** The per-installation API budget every job's client counts against (api-budget.ts); absent: not counted. */
  apiBudget?: ApiBudget;
}

/** The fields of a queued job that say whose job it is. */
export interface JobOwner {
  workspaceId: string;
  clientKey: string;
  /** `workspace/repo_slug`. */
  repoFullName: string;
  deliveryId: string;
}

/** One job's tenant, Bitbucket client and repository, shared by evaluation/ and operations/. */
export interface JobContext {
  log: Logger;
  tenant: Tenant;
  client: BitbucketClient;
  /** The workspace slug and repository slug of `repoFullName`. */
  workspace: string;
  repoSlug: string;
  /** What this job's client has spent (absent without an API budget). */
  meter?: JobMeter;
}

/**
 * Opens a job: its tenant must still be installed and still own the job's workspace, else the job is
 * dropped (null, logged with `dropped`). The client authenticates as that tenant.
 */
export async function openJobContext(
  deps: JobDeps,
  job: JobOwner,
  log: Logger,
  dropped: string,
  budget: MeterOptions = {},
): Promise<JobContext | null> {
  const tenant = await deps.store.tenants.findByClientKey(job.clientKey);
  if (!tenant || tenant.uninstalledAt || tenant.workspaceId !== job.workspaceId) {
    log.warn(dropped);
    return null;
  }
  const [workspace, repoSlug] = job.repoFullName.split('/') as [string, string];
  const meter = deps.apiBudget?.meterFor({ workspaceId: tenant.workspaceId, clientKey: tenant.clientKey }, budget);
  return {
    log,
    tenant,
    client: bitbucketClientFor(tenant, deps.config, deps.logger, job.deliveryId, deps.fetch, meter),
    workspace,
    repoSlug,
    ...(meter ? { meter } : {}),
  };
}
