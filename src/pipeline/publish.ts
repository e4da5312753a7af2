import type { AnnotationInput, BitbucketClient, ReportInput } from '../bitbucket';
import { ANNOTATIONS_PER_REPORT, BitbucketNotFoundError } from '../bitbucket';
import type { BuildStatusState, Verdict } from '../core/verdict';
import { annotationFor, reportFor } from '../render/code-insights';
import { clip, DESCRIPTION_MAX, IN_PROGRESS_DESCRIPTION, statusDescription } from '../render/status-text';
import type { StatusMarker } from './status-mark';

/** The build status key (≤ 40 chars) and the Code Insights report id clawgate owns (docs/architecture.md §2). */
export const STATUS_KEY = 'clawgate';
export const REPORT_ID = 'clawgate-policy';

export interface PublishTarget {
  client: BitbucketClient;
  workspace: string;
  repoSlug: string;
  headSha: string;
  /** '' while not known (the first INPROGRESS is written before any read): no refname is sent. */
  sourceBranch: string;
  detailsUrl: string;
  /** Marks every status written (status-mark.ts); without it statuses go out unmarked. */
  marker?: StatusMarker;
}

/** One `clawgate` status as written: what the forged-status defence compares against. */
export interface ClawgateStatusContent {
  state: BuildStatusState;
  description: string;
  /** Without the mark. */
  url: string;
  refname: string | null;
}

export async function publishInProgress(target: PublishTarget, description = IN_PROGRESS_DESCRIPTION): Promise<void> {
  await putStatus(target, 'INPROGRESS', description);
}

/**
 * Every `clawgate` status goes out here: key, name, clipped description and, with a marker, the
 * mark over exactly what is sent (`markAtMs`: the time of the record the status stands for).
 */
export async function writeClawgateStatus(
  client: BitbucketClient,
  marker: StatusMarker | undefined,
  where: { workspace: string; repoSlug: string; commit: string },
  content: ClawgateStatusContent,
  markAtMs: number,
): Promise<void> {
  const description = clip(content.description, DESCRIPTION_MAX);
  const url = marker
    ? marker.mark(
        {
          repoFullName: `${where.workspace}/${where.repoSlug}`,
          commit: where.commit,
          key: STATUS_KEY,
          state: content.state,
          description,
          url: content.url,
          refname: content.refname,
        },
        markAtMs,
      )
    : content.url;
  await client.putBuildStatus(
    where.workspace,
    where.repoSlug,
    where.commit,
    {
      key: STATUS_KEY,
      state: content.state,
      name: 'clawgate',
      url,
      description,
      ...(content.refname !== null ? { refname: content.refname } : {}),
    },
    // Only an evaluation's writes before the head is resolved (its first INPROGRESS, or FAILED when
    // the first read fails) name a short hash; never SUCCESSFUL.
    content.state !== 'SUCCESSFUL' && where.commit.length < 40 ? { allowShortHash: true } : {},
  );
}

export async function putStatus(
  target: PublishTarget,
  state: BuildStatusState,
  description: string,
  markAtMs: number = Date.now(),
): Promise<void> {
  await writeClawgateStatus(
    target.client,
    target.marker,
    { workspace: target.workspace, repoSlug: target.repoSlug, commit: target.headSha },
    { state, description, url: target.detailsUrl, refname: target.sourceBranch === '' ? null : target.sourceBranch },
    markAtMs,
  );
}

/**
 * The Code Insights report and its annotations, refreshed (deleted and re-created) for this head.
 * `reportExists: false` (no earlier evaluation of this head, so clawgate never reported on it)
 * skips the delete: one API call fewer per new head.
 */
export async function publishReport(
  target: PublishTarget,
  verdict: Verdict,
  options: { reportExists?: boolean } = {},
): Promise<{ annotations: number }> {
  const { client, workspace, repoSlug, headSha } = target;
  if (options.reportExists !== false) await client.deleteReport(workspace, repoSlug, headSha, REPORT_ID);
  const report: ReportInput = reportFor(verdict, target.detailsUrl);
  await client.putReport(workspace, repoSlug, headSha, REPORT_ID, report);
  const problems = verdict.checks
    .filter((c) => c.outcome === 'fail' || c.outcome === 'pending')
    .slice(0, ANNOTATIONS_PER_REPORT);
  if (problems.length > 0) {
    const annotations = problems.map((check): AnnotationInput => annotationFor(check));
    try {
      await client.postAnnotations(workspace, repoSlug, headSha, REPORT_ID, annotations);
    } catch (error) {
      // Another job for the same head (a re-check racing a re-evaluation) deleted the report between
      // our PUT and this POST: put it back once and annotate it; a second 404 is an error.
      if (!(error instanceof BitbucketNotFoundError)) throw error;
      await client.putReport(workspace, repoSlug, headSha, REPORT_ID, report);
      await client.postAnnotations(workspace, repoSlug, headSha, REPORT_ID, annotations);
    }
  }
  return { annotations: problems.length };
}

/**
 * Status + report for a finished verdict. NOT_APPLICABLE gets a passing status and no report.
 * `status` overrides what the status says (an incident on this commit outranks the verdict); its
 * `markAtMs` is the time of the record it stands for.
 */
export async function publishVerdict(
  target: PublishTarget,
  verdict: Verdict,
  status?: { content: ClawgateStatusContent; markAtMs: number },
  report: { reportExists?: boolean } = {},
): Promise<{ annotations: number }> {
  const write = async (state: BuildStatusState, description: string) => {
    if (status === undefined) await putStatus(target, state, description);
    else
      await writeClawgateStatus(
        target.client,
        target.marker,
        { workspace: target.workspace, repoSlug: target.repoSlug, commit: target.headSha },
        status.content,
        status.markAtMs,
      );
  };
  if (verdict.state === 'NOT_APPLICABLE') {
    await write(verdict.statusState, statusDescription(verdict));
    return { annotations: 0 };
  }
  const published = await publishReport(target, verdict, report);
  await write(verdict.statusState, statusDescription(verdict));
  return published;
}
