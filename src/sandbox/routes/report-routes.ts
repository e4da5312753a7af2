import { Router } from 'express';
import { z } from 'zod';
import { ApiError } from '../api-errors';
import { bracedUuid } from '../identifiers';
import type { Annotation, Commit, Report, Repository } from '../model';
import { paginate } from '../pagination';
import { param, parseBody, recordedWrite, repositoryFor, validationError } from '../route-context';
import type { BitbucketSandbox } from '../sandbox';

/**
 * Code Insights (scope `repository`, per Bitbucket's OpenAPI spec): PUT creates or replaces a report (its
 * annotations survive a replace; DELETE removes both), bulk POST upserts annotations by
 * `external_id`. Limits: ≤ 10 `data` items, 1..100 annotations per request, ≤ 1000 per report,
 * `summary` required and ≤ 450 characters (observed limit).
 */
export const MAX_REPORT_DATA = 10;
export const MAX_ANNOTATIONS_PER_REQUEST = 100;
export const MAX_ANNOTATIONS_PER_REPORT = 1000;
export const MAX_ANNOTATION_SUMMARY = 450;

const reportBody = z
  .object({
    title: z.string().min(1),
    details: z.string().optional(),
    external_id: z.string().optional(),
    reporter: z.string().optional(),
    link: z.string().url().optional(),
    logo_url: z.string().url().optional(),
    remote_link_enabled: z.boolean().optional(),
    report_type: z.enum(['SECURITY', 'COVERAGE', 'TEST', 'BUG']).optional(),
    result: z.enum(['PASSED', 'FAILED', 'PENDING']).optional(),
    data: z
      .array(
        z.object({
          title: z.string().min(1),
          type: z.enum(['BOOLEAN', 'DATE', 'DURATION', 'LINK', 'NUMBER', 'PERCENTAGE', 'TEXT']).optional(),
          value: z.unknown(),
        }),
      )
      .optional(),
  })
  .passthrough();

const annotationBody = z
  .object({
    external_id: z.string().min(1),
    annotation_type: z.enum(['VULNERABILITY', 'CODE_SMELL', 'BUG']).optional(),
    path: z.string().min(1).optional(),
    line: z.number().int().min(1).optional(),
    summary: z.string().min(1).max(MAX_ANNOTATION_SUMMARY),
    details: z.string().optional(),
    result: z.enum(['PASSED', 'FAILED', 'SKIPPED', 'IGNORED']).optional(),
    severity: z.enum(['CRITICAL', 'HIGH', 'MEDIUM', 'LOW']).optional(),
    link: z.string().url().optional(),
  })
  .passthrough();

export function reportRoutes(sandbox: BitbucketSandbox): Router {
  const router = Router();
  const REPORT = '/repositories/:workspace/:repo_slug/commit/:commit/reports/:reportId';

  const commitOr404 = (repo: Repository, ref: string): Commit => {
    const commit = sandbox.resolveCommit(repo, ref);
    if (!commit) throw new ApiError(404, 'Commit not found');
    return commit;
  };
  // A report is addressed by its external id or its uuid.
  const findReport = (repo: Repository, commit: Commit, id: string): Report | undefined => {
    const reports = repo.reports.get(commit.hash);
    return reports?.get(id) ?? [...(reports?.values() ?? [])].find((r) => r.uuid === id);
  };
  const reportOr404 = (repo: Repository, commit: Commit, id: string): Report => {
    const r = findReport(repo, commit, id);
    if (!r) throw new ApiError(404, `Report ${id} not found`);
    return r;
  };

  router.put(REPORT, (req, res) =>
    recordedWrite(sandbox, 'reports', req, res, () => {
      const ctx = repositoryFor(sandbox, req, res, 'repository');
      const commit = commitOr404(ctx.repo, param(req, 'commit'));
      const body = parseBody(reportBody, req);
      if ((body.data?.length ?? 0) > MAX_REPORT_DATA) {
        throw ApiError.field(
          'data',
          `A report can contain at most ${MAX_REPORT_DATA} data elements (it has ${body.data?.length ?? 0}).`,
        );
      }
      const id = param(req, 'reportId');
      const existing = findReport(ctx.repo, commit, id);
      const now = sandbox.now();
      const report: Report = {
        uuid: existing?.uuid ?? bracedUuid(),
        externalId: existing?.externalId ?? id,
        commit: commit.hash,
        title: body.title,
        details: body.details ?? null,
        reporter: body.reporter ?? null,
        link: body.link ?? null,
        logoUrl: body.logo_url ?? null,
        remoteLinkEnabled: body.remote_link_enabled ?? null,
        reportType: body.report_type ?? null,
        result: body.result ?? null,
        data: (body.data ?? []).map((d) =>
          d.type === undefined ? { title: d.title, value: d.value } : { title: d.title, type: d.type, value: d.value },
        ),
        annotations: existing?.annotations ?? new Map(),
        createdOn: existing?.createdOn ?? now,
        updatedOn: now,
      };
      let reports = ctx.repo.reports.get(commit.hash);
      if (!reports) {
        reports = new Map();
        ctx.repo.reports.set(commit.hash, reports);
      }
      reports.set(report.externalId, report);
      return { status: 200, json: sandbox.rep.report(ctx.repo, report), commit: commit.hash };
    }),
  );

  router.get(REPORT, (req, res) => {
    const { repo } = repositoryFor(sandbox, req, res, 'repository');
    const commit = commitOr404(repo, param(req, 'commit'));
    res.json(sandbox.rep.report(repo, reportOr404(repo, commit, param(req, 'reportId'))));
  });

  router.delete(REPORT, (req, res) =>
    recordedWrite(sandbox, 'reports', req, res, () => {
      const ctx = repositoryFor(sandbox, req, res, 'repository');
      const commit = commitOr404(ctx.repo, param(req, 'commit'));
      const report = findReport(ctx.repo, commit, param(req, 'reportId'));
      if (report) ctx.repo.reports.get(commit.hash)?.delete(report.externalId);
      return { status: 204, commit: commit.hash };
    }),
  );

  router.get('/repositories/:workspace/:repo_slug/commit/:commit/reports', (req, res) => {
    const { repo } = repositoryFor(sandbox, req, res, 'repository');
    const commit = commitOr404(repo, param(req, 'commit'));
    const list = [...(repo.reports.get(commit.hash)?.values() ?? [])].map((r) => sandbox.rep.report(repo, r));
    res.json(paginate(req, sandbox.baseUrl, list));
  });

  router.post(`${REPORT}/annotations`, (req, res) =>
    recordedWrite(sandbox, 'annotations', req, res, () => {
      const ctx = repositoryFor(sandbox, req, res, 'repository');
      const commit = commitOr404(ctx.repo, param(req, 'commit'));
      const report = reportOr404(ctx.repo, commit, param(req, 'reportId'));
      if (!Array.isArray(req.body)) throw new ApiError(400, 'Expected a JSON array of annotations.');
      const items: unknown[] = req.body;
      if (items.length < 1) throw new ApiError(400, 'Bulk upload requires at least 1 annotation.');
      if (items.length > MAX_ANNOTATIONS_PER_REQUEST)
        throw new ApiError(400, `Bulk upload supports a maximum of /${MAX_ANNOTATIONS_PER_REQUEST} annotations`);
      const parsed = items.map((item) => {
        const r = annotationBody.safeParse(item);
        if (!r.success) throw validationError(r.error, item);
        return r.data;
      });
      const newIds = new Set(parsed.map((a) => a.external_id).filter((id) => !report.annotations.has(id)));
      if (report.annotations.size + newIds.size > MAX_ANNOTATIONS_PER_REPORT) {
        throw new ApiError(400, `A report can have at most ${MAX_ANNOTATIONS_PER_REPORT} annotations.`);
      }
      const now = sandbox.now();
      const saved = parsed.map((a) => {
        const existing = report.annotations.get(a.external_id);
        const annotation: Annotation = {
          uuid: existing?.uuid ?? bracedUuid(),
          externalId: a.external_id,
          annotationType: a.annotation_type ?? null,
          path: a.path ?? null,
          line: a.line ?? null,
          summary: a.summary,
          details: a.details ?? null,
          result: a.result ?? null,
          severity: a.severity ?? null,
          link: a.link ?? null,
          createdOn: existing?.createdOn ?? now,
          updatedOn: now,
        };
        report.annotations.set(annotation.externalId, annotation);
        return sandbox.rep.annotation(annotation);
      });
      return { status: 200, json: saved, commit: commit.hash };
    }),
  );

  router.get(`${REPORT}/annotations`, (req, res) => {
    const { repo } = repositoryFor(sandbox, req, res, 'repository');
    const commit = commitOr404(repo, param(req, 'commit'));
    const report = reportOr404(repo, commit, param(req, 'reportId'));
    res.json(
      paginate(
        req,
        sandbox.baseUrl,
        [...report.annotations.values()].map((a) => sandbox.rep.annotation(a)),
      ),
    );
  });

  router.get(`${REPORT}/annotations/:annotationId`, (req, res) => {
    const { repo } = repositoryFor(sandbox, req, res, 'repository');
    const commit = commitOr404(repo, param(req, 'commit'));
    const report = reportOr404(repo, commit, param(req, 'reportId'));
    const id = param(req, 'annotationId');
    const a = report.annotations.get(id) ?? [...report.annotations.values()].find((x) => x.uuid === id);
    if (!a) throw new ApiError(404, `Annotation ${id} not found`);
    res.json(sandbox.rep.annotation(a));
  });

  router.delete(`${REPORT}/annotations/:annotationId`, (req, res) =>
    recordedWrite(sandbox, 'annotations', req, res, () => {
      const ctx = repositoryFor(sandbox, req, res, 'repository');
      const commit = commitOr404(ctx.repo, param(req, 'commit'));
      const report = reportOr404(ctx.repo, commit, param(req, 'reportId'));
      const id = param(req, 'annotationId');
      const a = report.annotations.get(id) ?? [...report.annotations.values()].find((x) => x.uuid === id);
      if (a) report.annotations.delete(a.externalId);
      return { status: 204, commit: commit.hash };
    }),
  );

  return router;
}
