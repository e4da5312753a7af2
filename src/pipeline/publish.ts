import type { AnnotationInput, BitbucketClient, ReportInput } from '../bitbucket';
import { ANNOTATIONS_PER_REPORT, BitbucketNotFoundError } from '../bitbucket';
import { sha256B64u } from '../core/clawsig/hashing';
import type { Check } from '../core/check';
import type { BuildStatusState, Verdict } from '../core/verdict';
import { REASON_TEXT, RULE_TEXT } from '../render/explanations';
import { clip, DESCRIPTION_MAX, IN_PROGRESS_DESCRIPTION, statusDescription } from '../render/status-text';
import type { StatusMarker } from './status-mark';

/** The build status key (≤ 40 chars) and the Code Insights report id clawgate owns (design §7). */
export const STATUS_KEY = 'clawgate';
export const REPORT_ID = 'clawgate-policy';
const ANNOTATION_SUMMARY_MAX = 450;

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
    ? marker.mark({ repoFullName: `${where.workspace}/${where.repoSlug}`, commit: where.commit, key: STATUS_KEY, state: content.state, description, url: content.url, refname: content.refname }, markAtMs)
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

export async function putStatus(target: PublishTarget, state: BuildStatusState, description: string, markAtMs: number = Date.now()): Promise<void> {
  await writeClawgateStatus(target.client, target.marker, { workspace: target.workspace, repoSlug: target.repoSlug, commit: target.headSha }, { state, description, url: target.detailsUrl, refname: target.sourceBranch === '' ? null : target.sourceBranch }, markAtMs);
}

function annotationFor(check: Check): AnnotationInput {
  const subject = check.subject;
  const file = subject?.kind === 'file' ? subject.id : undefined;
  const glob = typeof check.evidence?.glob === 'string' ? ` (${check.evidence.glob})` : '';
  const what = subject && subject.kind !== 'file' && subject.id ? ` — ${subject.kind} ${subject.id}` : '';
  return {
    external_id: `clawgate-${sha256B64u(`${check.rule}|${check.code}|${subject?.kind ?? ''}|${subject?.id ?? ''}|${subject?.path ?? ''}`).slice(0, 24)}`,
    annotation_type: 'VULNERABILITY',
    ...(file ? { path: file } : {}),
    summary: clip(`${check.code}: ${REASON_TEXT[check.code]}${glob}${what}`, ANNOTATION_SUMMARY_MAX),
    details: clip(`Criterion: ${RULE_TEXT[check.rule]}`, 2000),
    result: 'FAILED',
    severity: check.rule.startsWith('policy.paths') || check.code === 'REPLAY' ? 'HIGH' : 'MEDIUM',
  };
}

/**
 * The Code Insights report and its annotations, refreshed (deleted and re-created) for this head.
 * `reportExists: false` (no earlier evaluation of this head, so clawgate never reported on it)
 * skips the delete: one API call fewer per new head.
 */
export async function publishReport(target: PublishTarget, verdict: Verdict, options: { reportExists?: boolean } = {}): Promise<{ annotations: number }> {
  const { client, workspace, repoSlug, headSha } = target;
  if (options.reportExists !== false) await client.deleteReport(workspace, repoSlug, headSha, REPORT_ID);
  const receipts = verdict.receipts.gateway;
  const models = [...new Set(receipts.map((r) => [r.provider, r.model].filter(Boolean).join('/')).filter(Boolean))];
  const report: ReportInput = {
    title: 'clawgate: agent provenance and policy',
    details: verdict.state === 'PASS' ? 'The proof bundle verified and the change satisfies the Work Policy Contract.' : `${verdict.reasonCode}: ${REASON_TEXT[verdict.reasonCode]}`,
    report_type: 'SECURITY',
    reporter: 'clawgate',
    link: target.detailsUrl,
    result: verdict.state === 'PASS' ? 'PASSED' : verdict.state === 'PENDING' ? 'PENDING' : 'FAILED',
    data: [
      { title: 'Verdict', type: 'TEXT', value: `${verdict.state} (${verdict.mode})` },
      { title: 'Agent', type: 'TEXT', value: verdict.proof?.agentDid ?? 'none' },
      { title: 'Bundle', type: 'TEXT', value: verdict.proof?.bundleId ?? 'none' },
      { title: 'Policy hash', type: 'TEXT', value: verdict.policy?.hash ?? 'none' },
      { title: 'Gateway receipts', type: 'NUMBER', value: receipts.length },
      { title: 'Trusted receipts', type: 'NUMBER', value: receipts.filter((r) => r.counted).length },
      { title: 'Models', type: 'TEXT', value: clip(models.join(', ') || 'none', 200) },
      { title: 'Proof tier', type: 'TEXT', value: verdict.proof?.proofTier ?? 'none' },
      { title: 'Details', type: 'LINK', value: { text: 'clawgate verdict', href: target.detailsUrl } },
    ],
  };
  await client.putReport(workspace, repoSlug, headSha, REPORT_ID, report);
  const problems = verdict.checks.filter((c) => c.outcome === 'fail' || c.outcome === 'pending').slice(0, ANNOTATIONS_PER_REPORT);
  if (problems.length > 0) {
    try {
      await client.postAnnotations(workspace, repoSlug, headSha, REPORT_ID, problems.map(annotationFor));
    } catch (error) {
      // Another job for the same head (a re-check racing a re-evaluation) deleted the report between
      // our PUT and this POST: put it back once and annotate it; a second 404 is an error.
      if (!(error instanceof BitbucketNotFoundError)) throw error;
      await client.putReport(workspace, repoSlug, headSha, REPORT_ID, report);
      await client.postAnnotations(workspace, repoSlug, headSha, REPORT_ID, problems.map(annotationFor));
    }
  }
  return { annotations: problems.length };
}

/**
 * Status + report for a finished verdict. NOT_APPLICABLE gets a passing status and no report.
 * `status` overrides what the status says (an incident on this commit outranks the verdict); its
 * `markAtMs` is the time of the record it stands for.
 */
export async function publishVerdict(target: PublishTarget, verdict: Verdict, status?: { content: ClawgateStatusContent; markAtMs: number }, report: { reportExists?: boolean } = {}): Promise<{ annotations: number }> {
  const write = async (state: BuildStatusState, description: string) => {
    if (status === undefined) await putStatus(target, state, description);
    else await writeClawgateStatus(target.client, target.marker, { workspace: target.workspace, repoSlug: target.repoSlug, commit: target.headSha }, status.content, status.markAtMs);
  };
  if (verdict.state === 'NOT_APPLICABLE') {
    await write(verdict.statusState, statusDescription(verdict));
    return { annotations: 0 };
  }
  const published = await publishReport(target, verdict, report);
  await write(verdict.statusState, statusDescription(verdict));
  return published;
}
