import { randomUUID } from 'node:crypto';
import { ApiBudgetExceededError, BitbucketError, BitbucketRateLimitError, type BitbucketClient } from '../../bitbucket';
import type { ConsumedId } from '../../core/anti-replay';
import type { ConsumedIdRecord } from '../../store';
import {
  failedStatusFor,
  idsToRecord,
  verifyAndEvaluate,
  type EvaluationInput,
  type Mode,
  type Verdict,
} from '../../core/verdict';
import { recordEngineInput } from '../../evidence/engine-input';
import type { Job, JobHandler, JobQueue } from '../../queue/job-queue';
import { pullRequestJobKey } from '../../queue/pull-request-job-key';
import { DEFAULT_API_BUDGET, DEFAULT_API_DEFERRAL, type ApiDeferralConfig } from '../../config/app-config';
import { deferralDelayMs } from '../api-budget';
import { verdictToJson } from '../../render/verdict-json';
import { openJobContext, type JobDeps } from '../job-context';
import { clawgateVerdictForCommit } from '../commit-verdict';
import { inlineVerifier, URM_BOUNDS, type Verifier } from '../../verification';
import {
  gatherEvidence,
  headFromListing,
  isEvaluationBudgetError,
  listPullRequestCommitsOf,
  pathsAfterAttestation,
  type GatheredEvidence,
} from './gather';
import { withHeadCache, type HeadCache } from './head-cache';
import { policyForRepository } from '../repository-policy';
import { publishInProgress, publishVerdict, putStatus, writeClawgateStatus, type PublishTarget } from '../publish';
import { budgetWaitDescription, evaluationErrorDescription, statusDescription } from '../../render/status-text';
import type { StatusMarker } from '../status-mark';
import { detailsUrl } from '../status-urls';
import { EVALUATION_JOB, evaluationJobSchema, type EvaluationJob } from '../webhook-events';

export interface EvaluationDeps extends JobDeps {
  /** The verification time source (the pipeline's clock; the engine takes it as input). */
  now?: () => number;
  /** Marks clawgate's statuses so the forged-status defence can tell them from others' (status-mark.ts). */
  statusMarker?: StatusMarker;
  /** Runs the engine off the event loop with a time budget (src/verification); inline when absent. */
  verifier?: Verifier;
  /** Reads by full commit hash, kept across jobs of the same head (head-cache.ts); none when absent. */
  headCache?: HeadCache;
  /**
   * Out of API budget (the installation's hour, or a 429): the job is queued again, due when the budget
   * returns (docs/operations.md, "The Bitbucket API budget"). Absent: the queue's retries, as before.
   */
  deferral?: EvaluationDeferral;
}

export interface EvaluationDeferral {
  queue: Pick<JobQueue, 'enqueue'>;
  config?: ApiDeferralConfig;
  /** Counts each deferral (metrics): `budget` — the installation's hour; `rate_limited` — a 429 or its cooldown. */
  onDeferred?: (workspaceId: string, cause: 'budget' | 'rate_limited') => void;
  /** Jitter source (tests); Math.random when absent. */
  random?: () => number;
}

/** Which attempt of the queued job this is (a refused read on a non-final attempt leaves INPROGRESS standing). */
export interface JobAttempt {
  attempt: number;
  maxAttempts: number;
  /** The queued job's key: a deferral queues the job again under it. Absent: no deferral. */
  key?: string;
}

export interface EvaluationOutcome {
  status: 'evaluated' | 'superseded' | 'skipped' | 'errored' | 'deferred';
  evaluationId?: string;
  /** `deferred`: the job was queued again, due in this many ms. */
  deferredForMs?: number;
  verdict?: Verdict;
}

function toConsumed(records: readonly ConsumedIdRecord[]): ConsumedId[] {
  return records.map((r) => ({ kind: r.kind, value: r.value, repoFullName: r.firstRepo, pullRequestId: r.firstPrId }));
}

/**
 * One evaluation of a PR head (docs/architecture.md §2): INPROGRESS first, gather, the engine (twice: once to
 * learn the ids it would consume, once with what the store says is consumed), consume atomically,
 * store the evaluation and its audit event, publish. A failure of clawgate itself publishes FAILED in
 * enforce mode — never SUCCESSFUL.
 */
export async function evaluatePullRequest(
  job: EvaluationJob,
  deps: EvaluationDeps,
  attempt: JobAttempt = { attempt: 1, maxAttempts: 1 },
): Promise<EvaluationOutcome> {
  const { store, config } = deps;
  const now = deps.now ?? Date.now;
  const log = deps.logger.child({
    deliveryId: job.deliveryId,
    workspace: job.workspaceId,
    repo: job.repoFullName,
    pr: job.prId,
  });
  // The evaluation's reads are capped (api-budget.ts): past the cap it fails closed, API_BUDGET_EXCEEDED.
  const opened = await openJobContext(
    deps,
    job,
    log,
    'tenant missing or uninstalled; job dropped',
    deps.apiBudget ? { readsCap: deps.apiBudget.config.perEvaluation } : {},
  );
  if (opened === null) return { status: 'skipped' };
  const { workspace, repoSlug } = opened;
  const client = deps.headCache
    ? withHeadCache(opened.client, deps.headCache.forTenant(opened.tenant.clientKey))
    : opened.client;
  const recheck = job.trigger === 'recheck';
  const evaluationId = randomUUID();
  const marker = deps.statusMarker ? { marker: deps.statusMarker } : {};
  // Where a failure status goes: the head the webhook named until the PR's real head is known.
  let target: PublishTarget | null = recheck
    ? null
    : {
        client,
        workspace,
        repoSlug,
        headSha: job.headHint.toLowerCase(),
        sourceBranch: '',
        detailsUrl: detailsUrl(config, evaluationId),
        ...marker,
      };
  // Effective mode first (issue 9): until the assignment and the workspace say otherwise, the
  // strictest mode applies, so an error anywhere below can never publish SUCCESSFUL in enforce.
  let mode: Mode = 'enforce';
  // Whether this job put INPROGRESS on the head it publishes to (then a retry later may leave it standing).
  // A job resumed after a deferral that marked its head (INPROGRESS waiting for budget, or FAILED in
  // enforce) writes nothing before its first read, so a run that finds the budget still spent costs
  // no Bitbucket call at all.
  const resumed = job.deferral?.marked === true;
  let inProgressWritten = resumed;
  try {
    const { settings } = await store.settings.get(job.workspaceId);
    const assignment = await policyForRepository(store, job.workspaceId, job.repoFullName);
    mode = assignment.mode ?? settings.mode;
    // A status first: before any Bitbucket read, the head the webhook named is marked INPROGRESS.
    if (target && !resumed) {
      try {
        await publishInProgress(target);
        inProgressWritten = true;
      } catch (error) {
        // Bitbucket refusing a short hash (UNCONFIRMED whether it resolves one) is not the job's
        // failure: the resolved head gets its INPROGRESS below. Anything transient (down, 429) is.
        if (!(error instanceof BitbucketError) || error.transient) throw error;
        log.warn({ err: error.message }, 'INPROGRESS on the hinted head refused; written once the head is resolved');
        target = null;
      }
    }
    const pr = await client.getPullRequest(workspace, repoSlug, job.prId);
    if (
      !recheck &&
      !pr.source.commit.hash.toLowerCase().startsWith(job.headHint.slice(0, 12)) &&
      !job.headHint.startsWith(pr.source.commit.hash.toLowerCase())
    ) {
      log.info({ head: pr.source.commit.hash, job: job.headHint }, 'a newer head exists; job dropped');
      if (target) await restoreRecordedStatus(deps, client, job, target);
      return { status: 'superseded' };
    }
    if (pr.state !== 'OPEN') {
      log.info({ state: pr.state }, 'pull request is not open; job dropped');
      if (target) await restoreRecordedStatus(deps, client, job, target);
      return { status: 'skipped' };
    }
    // One listing of the PR's commits: the head's full hash comes from it (no GET …/commit/{short})
    // unless the listing does not start at the PR's head; gather judges the same listing.
    const listed = await listPullRequestCommitsOf(client, workspace, repoSlug, job.prId);
    const headSha =
      headFromListing(listed, pr.source.commit.hash) ??
      (await client.resolveCommitHash(workspace, repoSlug, pr.source.commit.hash));
    const hinted = target?.headSha;
    target = {
      client,
      workspace,
      repoSlug,
      headSha,
      sourceBranch: pr.source.branch.name,
      detailsUrl: detailsUrl(config, evaluationId),
      ...marker,
    };
    // The hinted head is this head (its prefix): its INPROGRESS stands; a second one would only
    // race its own echo. Another head (a re-check, a refused short hash) gets one now.
    if (hinted === undefined || !headSha.startsWith(hinted)) {
      await publishInProgress(target);
      inProgressWritten = true;
    }
    // The bundle's bytes are decoded and hashed in a worker; parsing, bounds and verification too.
    const verifier = deps.verifier ?? inlineVerifier;
    const evidence: GatheredEvidence = await gatherEvidence({
      client,
      verifier,
      store,
      workspaceId: job.workspaceId,
      repoFullName: job.repoFullName,
      prId: job.prId,
      pullRequest: pr,
      headSha,
      listed,
      settings,
      assignment,
      maxBundleBytes: config.maxBundleBytes,
    });
    mode = evidence.mode;
    // So does the URM: parsed and bounded in a worker. One that is not JSON or exceeds URM_BOUNDS binds
    // nothing (the protocol then fails a bundle that names it: URM_MISSING), never stalls the loop.
    const urm = evidence.urmText === undefined ? undefined : await verifier.parseJson(evidence.urmText, URM_BOUNDS);
    const nowMs = now();
    let baseInput = {
      nowMs,
      profile: 'clawgate' as const,
      settings: evidence.settings,
      scopedToken: evidence.bundle?.scopedToken,
      ...(evidence.bundle?.path !== undefined ? { bundlePath: evidence.bundle.path } : {}),
      policy: evidence.policy,
      change: evidence.change,
      evidenceError: evidence.evidenceError,
      urm: urm !== undefined && 'value' in urm ? urm.value : undefined,
      trustPulse: evidence.trustPulseText,
    };
    const bundleText = evidence.bundle?.text;
    const evaluate = (input: Omit<EvaluationInput, 'bundle'>): Promise<Verdict> =>
      verifier.evaluate({ input, ...(bundleText !== undefined ? { bundleText } : {}) });
    // The input of the verdict that stands, recorded for evidence packs (engine-input.ts).
    let finalInput: Omit<EvaluationInput, 'bundle'> = baseInput;
    let verdict = await evaluate(baseInput);
    // The engine names the attested commit; only the commits after it need their own paths (one
    // diffstat each, cached per commit), so they are read now and the engine judges again with them.
    let withPaths: GatheredEvidence['change'] | null = null;
    try {
      withPaths = await pathsAfterAttestation({
        client,
        workspace,
        repoSlug,
        change: evidence.change,
        attestedCommit: verdict.proof?.binding?.commit,
        ...(deps.headCache ? { cache: deps.headCache.forTenant(opened.tenant.clientKey) } : {}),
      });
    } catch (error) {
      if (!isEvaluationBudgetError(error)) throw error;
      baseInput = { ...baseInput, evidenceError: 'API_BUDGET_EXCEEDED' };
      finalInput = baseInput;
      verdict = await evaluate(baseInput);
    }
    if (withPaths !== null) {
      evidence.change = withPaths;
      baseInput = { ...baseInput, change: withPaths };
      finalInput = baseInput;
      if (verdict.consume.length === 0) verdict = await evaluate(baseInput);
    }
    if (verdict.consume.length > 0) {
      const consumed = await store.consumedIds.findConsumed(job.workspaceId, verdict.consume);
      finalInput = { ...baseInput, consumed: toConsumed(consumed) };
      verdict = await evaluate(finalInput);
      const toRecord = idsToRecord(verdict);
      if (toRecord.length > 0) {
        const result = await store.consumedIds.consumeIds(job.workspaceId, toRecord, {
          repo: job.repoFullName,
          prId: job.prId,
          evaluationId,
        });
        // Lost a race to another PR: the ids are theirs; judge again with that knowledge.
        if (!result.ok) {
          finalInput = { ...baseInput, consumed: toConsumed([...consumed, ...result.conflicts]) };
          verdict = await evaluate(finalInput);
        }
      }
    }
    const subject = `${job.repoFullName}#${job.prId}@${headSha}`;
    const record = verdictToJson(verdict, subject);
    // A bundle the pool refused (over the bounds or the time budget, not JSON) is recorded as that
    // refusal, not as its text, when the engine gives the same verdict from the refusal alone.
    const refusedInput = await asRefusal(finalInput, verdict, subject, evidence.bundle?.text);
    // No earlier evaluation of this head: clawgate never put a report on it, so none is deleted first.
    const reportOnHead = (await store.evaluations.latestForHead(job.workspaceId, job.repoFullName, headSha)) !== null;
    await store.evaluations.insert(job.workspaceId, {
      id: evaluationId,
      repoFullName: job.repoFullName,
      prId: job.prId,
      headSha,
      state: verdict.state,
      mode: verdict.mode,
      statusState: verdict.statusState,
      verdict: {
        ...record,
        trigger: job.trigger,
        delivery_id: job.deliveryId,
        bundle_source: evidence.bundle?.source ?? null,
        bundle_path: evidence.bundle?.path ?? null,
      },
      // What the status says for this verdict (read back by the forged-status defence).
      statusDescription: statusDescription(verdict),
      sourceBranch: pr.source.branch.name,
      bundleId: verdict.proof?.bundleId ?? evidence.bundle?.bundleId ?? null,
      bundleSha256B64u: evidence.bundle?.sha256B64u ?? null,
      bundleSource: evidence.bundle?.source ?? null,
      policyHashB64u: evidence.policy?.hash ?? null,
      prUrl: pr.links.html.href,
      commits: evidence.change.commits.map((c) => c.hash),
      engineInput: refusedInput
        ? JSON.stringify(recordEngineInput(refusedInput))
        : await engineInputJson(verifier, finalInput, evidence.bundle?.text),
    });
    // Keep the bundle an evaluation was based on, so an auditor can re-verify it later with
    // `clawgate verify` (uploaded bundles are already stored; a bundle id clash keeps the first copy).
    if (evidence.bundle?.source === 'repo_file' && verdict.proof?.bundleId) {
      await store.bundles
        .put(job.workspaceId, {
          bundleId: verdict.proof.bundleId,
          envelopeText: evidence.bundle.text,
          source: 'repo_file',
        })
        .catch((error: unknown) => {
          log.info(
            { err: error instanceof Error ? error.message : String(error) },
            'bundle copy not kept (id already stored with other content)',
          );
        });
    }
    // The status says what the store now says about this commit: this verdict, unless an incident
    // recorded on the same commit outranks it (commit-verdict.ts).
    const published = await clawgateVerdictForCommit(store, config, job.workspaceId, job.repoFullName, headSha);
    await store.audit.append(job.workspaceId, {
      actor: 'clawgate',
      kind: 'evaluation',
      subject: evaluationId,
      after: {
        state: verdict.state,
        reason_code: verdict.reasonCode,
        status: verdict.statusState,
        head: headSha,
        bundle_id: verdict.proof?.bundleId ?? null,
        trigger: job.trigger,
        // The pulse's status and hash only: its content is in the evaluation and the evidence pack.
        trust_pulse: { status: verdict.trustPulse.status, hash_b64u: verdict.trustPulse.hashB64u ?? null },
        ...(published.basis === 'incident'
          ? { published_status: { state: published.content.state, basis: 'incident', incident: published.recordId } }
          : {}),
      },
      repo: job.repoFullName,
      prId: job.prId,
    });
    await publishVerdict(
      target,
      verdict,
      { content: published.content, markAtMs: published.latestAtMs },
      { reportExists: reportOnHead },
    );
    log.info(
      { evaluationId, state: verdict.state, reason: verdict.reasonCode, status: verdict.statusState },
      'evaluation published',
    );
    return { status: 'evaluated', evaluationId, verdict };
  } catch (error) {
    log.error(
      { err: error instanceof Error ? { name: error.name, message: error.message } : String(error) },
      'evaluation failed',
    );
    // Fail closed: in enforce mode (or while the mode is not yet known) a clawgate failure is FAILED,
    // never SUCCESSFUL. observe and warn never fail a build (docs/policy.md): they say what happened.
    // Out of API budget (the installation's hour, or reads paused after a 429) or rate limited by
    // Bitbucket: the job is retried later by the queue; the INPROGRESS written first (from the write
    // reserve) stands meanwhile, and only the last attempt writes FAILED.
    const outOfBudget =
      (error instanceof ApiBudgetExceededError && error.scope === 'installation') ||
      error instanceof BitbucketRateLimitError;
    // With a deferral configured, such a job waits for the budget instead (docs/operations.md).
    if (outOfBudget && deps.deferral !== undefined && attempt.key !== undefined) {
      const deferred = await deferEvaluation(job, deps, deps.deferral, {
        key: attempt.key,
        error,
        mode,
        target,
        inProgressWritten,
        nowMs: now(),
        log,
      });
      if (deferred !== null) return deferred;
    }
    const retriedLater = outOfBudget && inProgressWritten && attempt.attempt < attempt.maxAttempts;
    if (target && !retriedLater) {
      const state = failedStatusFor(mode);
      try {
        await putStatus(target, state, evaluationErrorDescription(mode));
      } catch (publishError) {
        log.error(
          { err: publishError instanceof Error ? publishError.message : String(publishError) },
          'could not publish the failure status',
        );
      }
    }
    throw error;
  }
}

/**
 * Defers an evaluation refused for API budget: the job is queued again (same key, in its PR's
 * supersede group, yielding to a newer job of the group), due when the refusal said the budget
 * returns (deferralDelayMs), and this run ends without a queue retry. The head keeps a fail-closed
 * status meanwhile: refused by the budget (nothing was sent), a job whose head is not yet marked for
 * the wait says so — INPROGRESS with the resume time, or FAILED (enforce) when INPROGRESS could not
 * be written; later deferrals write nothing. After a 429 nothing is written before its wait is over:
 * the INPROGRESS written first stands, or, when there is none, the resumed job writes it first.
 * Past `maxDeferredMs` it fails for good (FAILED in enforce). Null: the job could not be queued
 * again; the caller falls back to the queue's retries.
 */
async function deferEvaluation(
  job: EvaluationJob,
  deps: EvaluationDeps,
  deferral: EvaluationDeferral,
  context: {
    key: string;
    error: ApiBudgetExceededError | BitbucketRateLimitError;
    mode: Mode;
    target: PublishTarget | null;
    inProgressWritten: boolean;
    nowMs: number;
    log: EvaluationDeps['logger'];
  },
): Promise<EvaluationOutcome | null> {
  const { error, mode, target, log, nowMs } = context;
  const config = deferral.config ?? DEFAULT_API_DEFERRAL;
  const sinceMs = job.deferral?.sinceMs ?? nowMs;
  const count = (job.deferral?.count ?? 0) + 1;
  const putOrLog = async (state: 'INPROGRESS' | 'FAILED' | 'SUCCESSFUL', description: string): Promise<boolean> => {
    if (target === null) return false;
    try {
      await putStatus(target, state, description);
      return true;
    } catch (publishError) {
      log.error(
        { err: publishError instanceof Error ? publishError.message : String(publishError) },
        'could not publish the status of a deferred evaluation',
      );
      return false;
    }
  };
  if (nowMs - sinceMs >= config.maxDeferredMs || count > 100_000) {
    log.error({ deferrals: job.deferral?.count ?? 0, sinceMs }, 'out of API budget for too long; evaluation failed');
    await putOrLog(failedStatusFor(mode), evaluationErrorDescription(mode));
    return { status: 'errored' };
  }
  const rateLimited = error instanceof BitbucketRateLimitError;
  // Due when the budget returns, but no later than the bound: the run then fails for good on time.
  const delayMs = Math.min(
    deferralDelayMs(
      error.retryAfterMs,
      deps.apiBudget?.config.cooldownMs ?? DEFAULT_API_BUDGET.cooldownMs,
      config,
      deferral.random,
    ),
    Math.max(config.floorMs, sinceMs + config.maxDeferredMs - nowMs),
  );
  // Whether the head carries this job's status for the wait (then a resumed run writes nothing first).
  let marked = job.deferral?.marked === true;
  if (!rateLimited && !marked) {
    const resumeAtMs = nowMs + delayMs;
    if (context.inProgressWritten) {
      // INPROGRESS stands even if this rewrite of its description is refused.
      await putOrLog('INPROGRESS', budgetWaitDescription(mode, 'INPROGRESS', resumeAtMs));
      marked = true;
    } else {
      marked = await putOrLog(failedStatusFor(mode), budgetWaitDescription(mode, 'FAILED', resumeAtMs));
    }
  } else if (context.inProgressWritten) {
    marked = true;
  }
  try {
    const group = pullRequestJobKey({
      workspaceId: job.workspaceId,
      repoFullName: job.repoFullName,
      prId: job.prId,
      headSha: job.headHint.slice(0, 12),
    }).supersedes;
    const queued = await deferral.queue.enqueue(
      EVALUATION_JOB,
      { ...job, deferral: { count, sinceMs, marked } },
      { key: context.key, supersedes: group, delayMs, yieldToGroup: true },
    );
    log.warn(
      { delayMs, deferrals: count, jobId: queued.id, yielded: queued.deduped, rateLimited },
      'out of API budget; evaluation deferred',
    );
  } catch (enqueueError) {
    log.error(
      { err: enqueueError instanceof Error ? enqueueError.message : String(enqueueError) },
      'could not defer the evaluation; the queue retries it',
    );
    return null;
  }
  deferral.onDeferred?.(job.workspaceId, rateLimited ? 'rate_limited' : 'budget');
  return { status: 'deferred', deferredForMs: delayMs };
}

/**
 * A job that stops early (a newer head, a closed PR) leaves the head it marked INPROGRESS with what
 * the store says about it, when the store has a record (otherwise INPROGRESS stays: never SUCCESSFUL).
 */
async function restoreRecordedStatus(
  deps: EvaluationDeps,
  client: BitbucketClient,
  job: EvaluationJob,
  target: PublishTarget,
): Promise<void> {
  if (!/^[0-9a-f]{40}$/.test(target.headSha)) return;
  const recorded = await clawgateVerdictForCommit(
    deps.store,
    deps.config,
    job.workspaceId,
    job.repoFullName,
    target.headSha,
  );
  if (recorded.basis === 'none') return;
  await writeClawgateStatus(
    client,
    deps.statusMarker,
    { workspace: target.workspace, repoSlug: target.repoSlug, commit: target.headSha },
    recorded.content,
    recorded.latestAtMs,
  );
}

/** The queue handler: validates the stored payload, then evaluates; transient Bitbucket errors retry. */
export function createEvaluationHandler(
  deps: EvaluationDeps,
  observe?: (outcome: EvaluationOutcome) => void,
): JobHandler {
  return async (job: Job) => {
    const parsed = evaluationJobSchema.safeParse(job.payload);
    if (!parsed.success) {
      deps.logger.error({ jobId: job.id }, 'evaluation job payload invalid; dropped');
      return;
    }
    try {
      const outcome = await evaluatePullRequest(parsed.data, deps, {
        attempt: job.attempt,
        maxAttempts: job.maxAttempts,
        key: job.key,
      });
      observe?.(outcome);
    } catch (error) {
      // Retry only what may succeed on retry (network, 5xx, rate limit); the FAILED status stands otherwise.
      if (error instanceof BitbucketError && !error.transient) return;
      throw error;
    }
  };
}

/** What the verification pool refuses a bundle with (verifier.ts, evaluate-task.ts): the engine then runs without it. */
const BUNDLE_REFUSALS = ['BUNDLE_LIMIT_EXCEEDED', 'VERIFICATION_BUDGET_EXCEEDED', 'BUNDLE_UNREADABLE'] as const;

/**
 * The engine input to record for a verdict on a refused bundle: `input` with the refusal as its
 * evidence error and no bundle, when the engine run on that (as an evidence-pack check runs it)
 * gives exactly the verdict that stands; otherwise undefined (the bundle text is recorded).
 *
 * Why (finding 6, bench/junk-bundle-latency.ts): a 10 MiB junk bundle's text, escaped into the
 * recorded input (≈12 MB), cost ≈190 ms of SQLite writing on its single connection, during which
 * every other workspace's queries waited, and 12 MB of stored junk per push. The bundle's SHA-256
 * stays recorded with the evaluation, so the refused file can still be identified and fetched.
 */
async function asRefusal(
  input: Omit<EvaluationInput, 'bundle'>,
  verdict: Verdict,
  subject: string,
  bundleText: string | undefined,
): Promise<Omit<EvaluationInput, 'bundle'> | undefined> {
  if (bundleText === undefined || input.evidenceError !== undefined) return undefined;
  const codes = new Set<string>(verdict.checks.map((check) => check.code));
  const standing = JSON.stringify(verdictToJson(verdict, subject));
  for (const code of BUNDLE_REFUSALS) {
    if (!codes.has(code)) continue;
    const refused = { ...input, evidenceError: code };
    // No bundle: cheap enough for the event loop (the WPC on the change set, the CST's signature).
    if (JSON.stringify(verdictToJson(await verifyAndEvaluate(refused), subject)) === standing) return refused;
  }
  return undefined;
}

/**
 * The recorded engine input (engine-input.ts) as JSON text. The bundle text in it (up to the bundle
 * limit, mostly quotes to escape) is quoted in a worker: on the event loop it was the longest stall
 * a 10 MiB junk bundle caused (≈300 ms, bench/junk-bundle-latency.ts). Member order does not matter
 * to `restoreEngineInput`, which parses it.
 */
async function engineInputJson(
  verifier: Verifier,
  input: Omit<EvaluationInput, 'bundle'>,
  bundleText: string | undefined,
): Promise<string> {
  const rest = JSON.stringify(recordEngineInput(input));
  if (bundleText === undefined) return rest;
  const quoted = await verifier.quoteJsonString(bundleText);
  return rest === '{}' ? `{"bundle_text":${quoted}}` : `${rest.slice(0, -1)},"bundle_text":${quoted}}`;
}
