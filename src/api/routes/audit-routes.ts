import { repositoryName, REPOSITORY_NAME_MESSAGE } from '../repo-param';
import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { isRfc3339DateTime, parseTimestamp } from '../../core/clawsig/rfc3339';
import { evidencePackFor } from '../../evidence/pack-for-evaluation';
import type { AuditEvent } from '../../store';
import { ApiError } from '../../http/http-error';
import type { ApiContext } from '../api-context';
import { access, ACCESS, principalOf } from '../../http/authenticate';
import { zodIssuesToFields } from '../../http/zod-fields';

/**
 * `GET /workspaces/{ws}/audit?format=jsonl|csv&repo=&pr=&kind=&since=&until=&after_id=&limit=` (docs/api.md):
 * the workspace's audit events, oldest first, as JSON Lines (default) or CSV. Pages of `limit`
 * events (default 1000, at most 10000); when a page is full, `X-Next-After-Id` is the cursor for
 * the next one. `since` is inclusive, `until` exclusive (RFC 3339).
 */

const MAX_PAGE = 10_000;
const MAX_EVIDENCE_PAGE = 100;

const timestamp = z
  .string()
  .refine((value) => isRfc3339DateTime(value), 'must be an RFC 3339 date-time with a time zone')
  .transform((value) => new Date(parseTimestamp(value) ?? Number.NaN));

const querySchema = z.strictObject({
  format: z.enum(['jsonl', 'csv']).optional(),
  repo: z.string().min(1).max(255).optional(),
  pr: z
    .string()
    .regex(/^[1-9]\d{0,9}$/, 'must be a pull request id')
    .transform(Number)
    .optional(),
  /** Comma-separated event kinds, e.g. `incident,forged_status`. */
  kind: z
    .string()
    .max(500)
    .regex(/^[a-z0-9_.]+(,[a-z0-9_.]+)*$/, 'must be comma-separated event kinds')
    .transform((value) => value.split(','))
    .optional(),
  since: timestamp.optional(),
  until: timestamp.optional(),
  after_id: z
    .string()
    .regex(/^\d{1,15}$/, 'must be an event id')
    .transform(Number)
    .optional(),
  /** `evidence`: each evaluation event carries its signed evidence pack (JSON Lines only). */
  include: z.literal('evidence').optional(),
  limit: z
    .string()
    .regex(/^\d{1,5}$/, `must be 1..${MAX_PAGE}`)
    .transform(Number)
    .refine((limit) => limit >= 1 && limit <= MAX_PAGE, `must be 1..${MAX_PAGE}`)
    .optional(),
});

function eventView(event: AuditEvent): Record<string, unknown> {
  return {
    id: event.id,
    at: event.at.toISOString(),
    actor: event.actor,
    kind: event.kind,
    subject: event.subject,
    repo: event.repo,
    pr_id: event.prId,
    before: event.before,
    after: event.after,
  };
}

const CSV_COLUMNS = ['id', 'at', 'actor', 'kind', 'subject', 'repo', 'pr_id', 'before', 'after'] as const;

/**
 * One CSV cell, always quoted. A cell that a spreadsheet would run as a formula (leading = + - @,
 * tab or CR) gets a leading `'`: actors, subjects and repo names come from outside.
 */
export function csvCell(value: unknown): string {
  let text = value === null || value === undefined ? '' : typeof value === 'string' ? value : JSON.stringify(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return `"${text.replace(/"/g, '""')}"`;
}

export function auditRoutes(context: ApiContext): Router {
  const router = Router({ mergeParams: true });

  router.get('/audit', access(ACCESS.readWorkspace), async (request: Request, response: Response) => {
    const principal = principalOf(request);
    const parsed = querySchema.safeParse(request.query);
    if (!parsed.success)
      throw new ApiError(
        400,
        'INVALID_QUERY',
        'the query parameters are invalid',
        zodIssuesToFields(parsed.error.issues),
      );
    const query = parsed.data;
    if (query.include === 'evidence' && query.format === 'csv')
      throw new ApiError(400, 'INVALID_QUERY', 'include=evidence needs format=jsonl (a pack is a JSON document)', [
        { path: 'include', message: 'needs format=jsonl' },
      ]);
    // Packs are large: pages that include them are smaller.
    const limit = Math.min(query.limit ?? 1000, query.include === 'evidence' ? MAX_EVIDENCE_PAGE : MAX_PAGE);
    // `repo` = the slug or the full name, like everywhere else (repo-param.ts).
    const repo = query.repo === undefined ? undefined : repositoryName(query.repo, principal);
    if (repo === null)
      throw new ApiError(400, 'INVALID_QUERY', 'the query parameters are invalid', [
        { path: 'repo', message: REPOSITORY_NAME_MESSAGE },
      ]);
    const events = await context.store.audit.query(principal.workspaceId, {
      ...(repo !== undefined ? { repo: repo.fullName } : {}),
      ...(query.pr !== undefined ? { prId: query.pr } : {}),
      ...(query.kind !== undefined ? { kinds: query.kind } : {}),
      ...(query.since !== undefined ? { since: query.since } : {}),
      ...(query.until !== undefined ? { until: query.until } : {}),
      ...(query.after_id !== undefined ? { afterId: query.after_id } : {}),
      limit,
    });
    const last = events[events.length - 1];
    if (events.length === limit && last !== undefined) response.setHeader('X-Next-After-Id', String(last.id));
    const format = query.format ?? 'jsonl';
    const name = `clawgate-audit.${format}`;
    response.setHeader('Content-Disposition', `attachment; filename="${name}"`);
    if (format === 'csv') {
      const lines = [
        CSV_COLUMNS.join(','),
        ...events.map((event) => {
          const view = eventView(event);
          return CSV_COLUMNS.map((column) => csvCell(view[column])).join(',');
        }),
      ];
      response.type('text/csv; charset=utf-8').send(`${lines.join('\r\n')}\r\n`);
      return;
    }
    const lines: string[] = [];
    for (const event of events) {
      const view = eventView(event);
      if (query.include === 'evidence' && event.kind === 'evaluation' && event.subject) {
        // The pack as its exact signed text (a string), so `clawgate verify` can check it byte for byte.
        const evaluation = await context.store.evaluations.get(principal.workspaceId, event.subject);
        const pack = evaluation
          ? await evidencePackFor(
              context.store,
              { uuid: principal.workspaceId, slug: principal.workspaceSlug },
              evaluation,
              context.now(),
            )
          : null;
        view.evidence_pack = pack?.ok ? pack.text : null;
        view.evidence_pack_unavailable = pack && !pack.ok ? pack.code : pack ? null : 'EVALUATION_NOT_FOUND';
      }
      lines.push(`${JSON.stringify(view)}\n`);
    }
    response.type('application/x-ndjson; charset=utf-8').send(lines.join(''));
  });

  return router;
}
