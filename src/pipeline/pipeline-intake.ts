import type { Logger } from 'pino';
import { pullRequestJobKey } from '../queue/pull-request-job-key';
import type { JobQueue } from '../queue/job-queue';
import type { Store } from '../store';
import {
  announcedClawgateStatus,
  forgedStatusJobKey,
  OPERATIONS_EVENTS,
  OPERATIONS_JOB,
  operationsJobFor,
  pushedCommits,
} from './operations-events';
import type { StatusMarker } from './status-mark';
import type { WebhookDelivery, WebhookIntake, WebhookIntakeResult } from './webhook-intake';
import { EVALUATING_EVENTS, EVALUATION_JOB, pullRequestEventSchema, type EvaluationJob } from './webhook-events';

/**
 * Webhook → dedupe (X-Request-UUID) → durable job → ack (docs/architecture.md §2). The job key is repo + PR + head,
 * and a newer head supersedes a pending job for the same PR. Pushes, merges, comments and
 * `clawgate` statuses become one operations job per delivery (incidents, re-check comments,
 * forged-status defence).
 */
/**
 * Forge sends no uninstall event and `preUninstall` may never arrive, so a Forge installation that has
 * not called clawgate (which refreshes its app system token, valid 2–4 h) for this long no longer
 * silences Connect: an abandoned installation must not stop the workspace's evaluations.
 */
export const FORGE_INSTALLATION_QUIET_MS = 24 * 60 * 60 * 1000;

function hasActiveForgeInstallation(store: Store, workspaceId: string, nowMs: number): Promise<boolean> {
  return store.tenants.hasRecentInstallation(workspaceId, 'forge', new Date(nowMs - FORGE_INSTALLATION_QUIET_MS));
}

export function createPipelineIntake(deps: {
  store: Store;
  queue: JobQueue;
  logger: Logger;
  statusMarker?: StatusMarker;
  forgedStatusCoalesceMs?: number;
}): WebhookIntake {
  return {
    async receive(delivery: WebhookDelivery): Promise<WebhookIntakeResult> {
      const log = deps.logger.child({
        deliveryId: delivery.deliveryId,
        event: delivery.eventKey,
        workspace: delivery.tenant.workspaceId,
      });
      // A workspace moving from Connect to Forge has both installed for a while: the Forge app's events
      // drive the pipeline, Connect's are acknowledged and dropped, so each change is evaluated once.
      if (
        delivery.surface === 'connect' &&
        (await hasActiveForgeInstallation(deps.store, delivery.tenant.workspaceId, Date.now()))
      ) {
        log.info('the workspace has the Forge app installed; Connect delivery acknowledged, not processed');
        return { accepted: true, duplicate: false, jobs: 0 };
      }
      const { isNew } = await deps.store.deliveries.recordDelivery(
        delivery.tenant.workspaceId,
        delivery.deliveryId,
        delivery.eventKey,
      );
      if (!isNew) {
        log.info('duplicate delivery ignored');
        return { accepted: false, duplicate: true, jobs: 0 };
      }
      try {
        return await enqueueWork(delivery, log);
      } catch (error) {
        // The delivery is recorded as seen but its work is not queued: forget it, so that Bitbucket's
        // redelivery after our 5xx is processed instead of dropped as a duplicate.
        await deps.store.deliveries
          .forgetDelivery(delivery.tenant.workspaceId, delivery.deliveryId)
          .catch((forgetError: unknown) =>
            log.error(
              { err: forgetError instanceof Error ? forgetError.message : String(forgetError) },
              'delivery not forgotten after a failed enqueue; its redelivery will be dropped',
            ),
          );
        throw error;
      }
    },
  };

  /** Everything after the dedupe: the jobs a new delivery asks for (indented as it was inside receive). */
  async function enqueueWork(delivery: WebhookDelivery, log: Logger): Promise<WebhookIntakeResult> {
    if (OPERATIONS_EVENTS.has(delivery.eventKey)) {
      // Bitbucket echoes every status write, ours included: the echo of our own latest write needs
      // no job (and no API call); anything else under our key is checked by the job.
      const announced = announcedClawgateStatus(delivery.eventKey, delivery.payload);
      if (announced !== null && deps.statusMarker?.isEchoOfLatestWrite(announced)) {
        log.debug({ commit: announced.commit }, 'echo of our own status write');
        return { accepted: true, duplicate: false, jobs: 0 };
      }
      if (delivery.eventKey === 'repo:push') {
        // The delivery is already recorded as seen, so a redelivery would be dropped: a failure to
        // record the pushers is logged and the push counts as by an unknown account (fail closed).
        await recordPushers(deps, delivery, log).catch((error: unknown) =>
          log.error({ err: error instanceof Error ? error.message : String(error) }, 'pushers not recorded'),
        );
      }
      const parsed = operationsJobFor(delivery.eventKey, delivery.payload, {
        workspaceId: delivery.tenant.workspaceId,
        clientKey: delivery.tenant.clientKey,
        deliveryId: delivery.deliveryId,
        eventKey: delivery.eventKey,
      });
      if ('ignored' in parsed) {
        log.debug({ reason: parsed.ignored }, 'operations event ignored');
        return { accepted: true, duplicate: false, jobs: 0 };
      }
      // Forged statuses coalesce per commit and writer: the job waits a moment, and every forgery
      // of that commit by that account meanwhile joins it (many forgeries → one restore in flight).
      const forged = parsed.job.kind === 'commit_status';
      const key =
        parsed.job.kind === 'commit_status'
          ? forgedStatusJobKey(parsed.job)
          : `${delivery.tenant.workspaceId}/ops/${delivery.deliveryId}`;
      const result = await deps.queue.enqueue(OPERATIONS_JOB, parsed.job, {
        key,
        ...(forged && deps.forgedStatusCoalesceMs ? { delayMs: deps.forgedStatusCoalesceMs } : {}),
      });
      log.info({ jobId: result.id, deduped: result.deduped, kind: parsed.job.kind }, 'operations job enqueued');
      return { accepted: true, duplicate: false, jobs: 1 };
    }
    if (!EVALUATING_EVENTS.has(delivery.eventKey)) {
      log.debug('event not evaluated');
      return { accepted: true, duplicate: false, jobs: 0 };
    }
    const parsed = pullRequestEventSchema.safeParse(delivery.payload);
    if (!parsed.success) {
      log.warn({ issue: parsed.error.issues[0]?.path.join('.') }, 'pull request event payload rejected');
      return { accepted: true, duplicate: false, jobs: 0 };
    }
    const event = parsed.data;
    const head = event.pullrequest.source.commit?.hash;
    if (!head) {
      log.warn('pull request event without a source commit');
      return { accepted: true, duplicate: false, jobs: 0 };
    }
    const job: EvaluationJob = {
      workspaceId: delivery.tenant.workspaceId,
      clientKey: delivery.tenant.clientKey,
      repoFullName: event.repository.full_name,
      prId: event.pullrequest.id,
      headHint: head.toLowerCase(),
      trigger: delivery.eventKey,
      deliveryId: delivery.deliveryId,
    };
    const key = pullRequestJobKey({
      workspaceId: job.workspaceId,
      repoFullName: job.repoFullName,
      prId: job.prId,
      headSha: job.headHint.slice(0, 12),
    });
    // Approvals re-evaluate the same head: give them their own key so a finished job for this head
    // does not swallow them, while redeliveries of the same approval still dedupe.
    const jobKey =
      delivery.eventKey.startsWith('pullrequest:updated') || delivery.eventKey === 'pullrequest:created'
        ? key.key
        : `${key.key}#${delivery.deliveryId}`;
    const result = await deps.queue.enqueue(EVALUATION_JOB, job, { key: jobKey, supersedes: key.supersedes });
    log.info(
      { jobId: result.id, deduped: result.deduped, pr: job.prId, repo: job.repoFullName },
      'evaluation enqueued',
    );
    return { accepted: true, duplicate: false, jobs: 1 };
  }
}

/**
 * Who pushed which commit, recorded before the delivery is acknowledged (issue 9), so an evaluation
 * that runs after this push knows its pusher. A PR already evaluated at the pushed head (its
 * `pullrequest:updated` overtook this push) is evaluated again with the pusher known.
 */
async function recordPushers(
  deps: { store: Store; queue: JobQueue },
  delivery: WebhookDelivery,
  log: Logger,
): Promise<void> {
  const pushed = pushedCommits(delivery.payload);
  if (pushed === null) return;
  const workspaceId = delivery.tenant.workspaceId;
  for (const branch of pushed.branches) {
    await deps.store.commitPushes.record(workspaceId, pushed.repoFullName, {
      commits: branch.commits,
      pusherUuid: pushed.pusherUuid,
      branch: branch.branch,
      deliveryId: delivery.deliveryId,
    });
    if (!/^[0-9a-f]{40}$/.test(branch.head)) continue;
    for (const evaluated of await deps.store.evaluations.latestPerPullRequestForHead(
      workspaceId,
      pushed.repoFullName,
      branch.head,
    )) {
      const job: EvaluationJob = {
        workspaceId,
        clientKey: delivery.tenant.clientKey,
        repoFullName: pushed.repoFullName,
        prId: evaluated.prId,
        headHint: branch.head,
        trigger: 'repo:push',
        deliveryId: delivery.deliveryId,
      };
      const key = pullRequestJobKey({
        workspaceId,
        repoFullName: job.repoFullName,
        prId: job.prId,
        headSha: branch.head.slice(0, 12),
      });
      await deps.queue.enqueue(EVALUATION_JOB, job, { key: `${key.key}#push:${delivery.deliveryId}` });
      log.info({ pr: job.prId }, 'pusher recorded after the head was evaluated; re-evaluating');
    }
  }
}
