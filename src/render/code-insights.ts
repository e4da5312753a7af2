import { sha256B64u } from '../core/clawsig/hashing';
import type { Check } from '../core/check';
import type { Verdict } from '../core/verdict';
import { REASON_TEXT, RULE_TEXT } from './explanations';
import { clip } from './status-text';

/**
 * The words of clawgate's Code Insights report and its annotations (one per failing or pending
 * check). The pipeline publishes them (src/pipeline/publish.ts); what they say lives here. The shapes
 * are Bitbucket's report and annotation bodies (src/bitbucket/request-bodies.ts validates them on the
 * way out), written out here because render/ does not import the Bitbucket client.
 */

export const REPORT_TITLE = 'clawgate: agent provenance and policy';
const ANNOTATION_SUMMARY_MAX = 450;
const ANNOTATION_DETAILS_MAX = 2000;
const MODELS_MAX = 200;

type ReportDatum =
  | { title: string; type: 'TEXT'; value: string }
  | { title: string; type: 'NUMBER'; value: number }
  | { title: string; type: 'LINK'; value: { text: string; href: string } };

export interface ReportBody {
  title: string;
  details: string;
  report_type: 'SECURITY';
  reporter: 'clawgate';
  link: string;
  result: 'PASSED' | 'PENDING' | 'FAILED';
  data: ReportDatum[];
}

export interface AnnotationBody {
  external_id: string;
  annotation_type: 'VULNERABILITY';
  path?: string;
  summary: string;
  details: string;
  result: 'FAILED';
  severity: 'HIGH' | 'MEDIUM';
}

/** The report for a finished verdict (NOT_APPLICABLE gets none: the pipeline does not ask). */
export function reportFor(verdict: Verdict, detailsUrl: string): ReportBody {
  const receipts = verdict.receipts.gateway;
  const models = [...new Set(receipts.map((r) => [r.provider, r.model].filter(Boolean).join('/')).filter(Boolean))];
  return {
    title: REPORT_TITLE,
    details:
      verdict.state === 'PASS'
        ? 'The proof bundle verified and the change satisfies the Work Policy Contract.'
        : `${verdict.reasonCode}: ${REASON_TEXT[verdict.reasonCode]}`,
    report_type: 'SECURITY',
    reporter: 'clawgate',
    link: detailsUrl,
    result: verdict.state === 'PASS' ? 'PASSED' : verdict.state === 'PENDING' ? 'PENDING' : 'FAILED',
    data: [
      { title: 'Verdict', type: 'TEXT', value: `${verdict.state} (${verdict.mode})` },
      { title: 'Agent', type: 'TEXT', value: verdict.proof?.agentDid ?? 'none' },
      { title: 'Bundle', type: 'TEXT', value: verdict.proof?.bundleId ?? 'none' },
      { title: 'Policy hash', type: 'TEXT', value: verdict.policy?.hash ?? 'none' },
      { title: 'Gateway receipts', type: 'NUMBER', value: receipts.length },
      { title: 'Trusted receipts', type: 'NUMBER', value: receipts.filter((r) => r.counted).length },
      { title: 'Models', type: 'TEXT', value: clip(models.join(', ') || 'none', MODELS_MAX) },
      { title: 'Proof tier', type: 'TEXT', value: verdict.proof?.proofTier ?? 'none' },
      { title: 'Details', type: 'LINK', value: { text: 'clawgate verdict', href: detailsUrl } },
    ],
  };
}

/**
 * One annotation per failing (or pending) check. Its external id is derived from what it is about
 * (rule, code, subject), so a re-published report names the same problem with the same id.
 */
export function annotationFor(check: Check): AnnotationBody {
  const subject = check.subject;
  const file = subject?.kind === 'file' ? subject.id : undefined;
  const glob = typeof check.evidence?.glob === 'string' ? ` (${check.evidence.glob})` : '';
  const what = subject && subject.kind !== 'file' && subject.id ? ` — ${subject.kind} ${subject.id}` : '';
  return {
    external_id: `clawgate-${sha256B64u(`${check.rule}|${check.code}|${subject?.kind ?? ''}|${subject?.id ?? ''}|${subject?.path ?? ''}`).slice(0, 24)}`,
    annotation_type: 'VULNERABILITY',
    ...(file ? { path: file } : {}),
    summary: clip(`${check.code}: ${REASON_TEXT[check.code]}${glob}${what}`, ANNOTATION_SUMMARY_MAX),
    details: clip(`Criterion: ${RULE_TEXT[check.rule]}`, ANNOTATION_DETAILS_MAX),
    result: 'FAILED',
    // Denied paths and replays are the attacks a reviewer must see first.
    severity: check.rule.startsWith('policy.paths') || check.code === 'REPLAY' ? 'HIGH' : 'MEDIUM',
  };
}
