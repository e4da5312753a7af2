import type { JobQueue } from '../../queue/job-queue';
import type { WorkspaceSettings } from '../../store';
import type { JobContext, JobDeps } from '../job-context';
import type { RequestRecheck } from '../recheck';
import type { OperationsJob } from '../operations-events';
import type { StatusMarker } from '../status-mark';

export interface OperationsDeps extends JobDeps {
  /** Required: without it clawgate could not tell its own statuses from forged ones. */
  statusMarker: StatusMarker;
  requestRecheck: RequestRecheck;
  /** Durable restores of forged statuses (forged-status.ts) re-enqueue themselves here. */
  queue?: JobQueue;
  /** Wakes the alert deliverer after an alert was raised (alert-delivery.ts); optional. */
  wakeAlerts?: () => void;
}

/** What every operations handler gets for one job: the shared job context and the workspace's settings. */
export interface OperationContext extends JobContext {
  deps: OperationsDeps;
  settings: WorkspaceSettings;
  job: OperationsJob;
}

/** How an account is named in audit events. */
export function auditActor(uuid: string | null): string {
  return uuid ? `bitbucket:${uuid}` : 'bitbucket:unknown';
}
