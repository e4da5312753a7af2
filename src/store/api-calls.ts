import { createHash } from 'node:crypto';
import { QueryTypes } from 'sequelize';
import { StoreError } from './errors';
import type { RepositoryContext } from './repository-context';
import { workspaceKey, type WorkspaceId } from './workspace-id';

/**
 * Bitbucket API calls per installation per clock hour (issues 9 and 15), in the store so every
 * replica counts against one budget. The budget itself (what may be spent, on what) is the
 * pipeline's (src/pipeline/api-budget.ts); this only counts, atomically: `take` adds a call only
 * while the hour has fewer than `cap` (one conditional upsert, so two replicas cannot both take the
 * last call).
 */
export interface ApiCallWindow {
  /** Calls counted in the current clock hour and the one before it. */
  current: number;
  previous: number;
  /** 429s Bitbucket answered this hour, and when the last one came (either hour), ms since the epoch. */
  rateLimited: number;
  lastRateLimitedAtMs: number | null;
}

const HOUR_MS = 3_600_000;

/** Installations are keyed by a hash of their client key (bounded, and no key material in the table). */
export function installationKey(clientKey: string): string {
  return createHash('sha256').update(clientKey, 'utf8').digest('hex');
}

interface CountRow {
  hour_start: number | string;
  calls: number | string;
  rate_limited: number | string;
  last_rate_limited_at: number | string | null;
}

export class ApiCallRepository {
  constructor(private readonly context: RepositoryContext) {}

  async window(workspaceId: WorkspaceId, clientKey: string, nowMs: number): Promise<ApiCallWindow> {
    const workspace = workspaceKey(workspaceId);
    const hour = Math.floor(nowMs / HOUR_MS);
    const rows = await this.context.db.read(() =>
      this.context.db.sequelize.query<CountRow>(
        'SELECT hour_start, calls, rate_limited, last_rate_limited_at FROM api_call_counts WHERE workspace_uuid = :workspace AND installation = :installation AND hour_start IN (:hours)',
        {
          replacements: { workspace, installation: installationKey(clientKey), hours: [hour, hour - 1] },
          type: QueryTypes.SELECT,
        },
      ),
    );
    const current = rows.find((r) => Number(r.hour_start) === hour);
    const previous = rows.find((r) => Number(r.hour_start) === hour - 1);
    const last = rows
      .map((r) => (r.last_rate_limited_at === null ? null : Number(r.last_rate_limited_at)))
      .filter((v): v is number => v !== null);
    return {
      current: Number(current?.calls ?? 0),
      previous: Number(previous?.calls ?? 0),
      rateLimited: Number(current?.rate_limited ?? 0),
      lastRateLimitedAtMs: last.length > 0 ? Math.max(...last) : null,
    };
  }

  /** Counts one call in the current hour when it has fewer than `cap` calls; false (nothing counted) otherwise. */
  async take(workspaceId: WorkspaceId, clientKey: string, nowMs: number, cap: number): Promise<boolean> {
    const workspace = workspaceKey(workspaceId);
    if (!Number.isInteger(cap)) throw new StoreError('INVALID_INPUT', 'cap must be an integer');
    if (cap <= 0) return false;
    const replacements = {
      workspace,
      installation: installationKey(clientKey),
      hour: Math.floor(nowMs / HOUR_MS),
      cap,
    };
    // One statement decides, atomically on both dialects (PostgreSQL locks the conflicting row and
    // re-checks the WHERE): the first call of an hour inserts 1, later ones add 1 only below the cap,
    // so two replicas can never both take the last call. One round trip per counted call.
    const rows = await this.context.db.statement(() =>
      // The leading comment keeps Sequelize's SQLite dialect from running it as a bare INSERT (which
      // drops RETURNING rows): it picks `run` for SQL that starts with "insert into".
      this.context.db.sequelize.query<{ calls: number | string }>(
        `/* take */ INSERT INTO api_call_counts (workspace_uuid, installation, hour_start, calls, rate_limited) VALUES (:workspace, :installation, :hour, 1, 0)
         ON CONFLICT (workspace_uuid, installation, hour_start) DO UPDATE SET calls = api_call_counts.calls + 1 WHERE api_call_counts.calls < :cap
         RETURNING calls`,
        { replacements, type: QueryTypes.SELECT },
      ),
    );
    return rows.length === 1;
  }

  /** Counts a 429 (the call itself was counted by `take`) and remembers when it came. */
  async recordRateLimited(workspaceId: WorkspaceId, clientKey: string, nowMs: number): Promise<void> {
    const workspace = workspaceKey(workspaceId);
    await this.context.db.write((transaction) =>
      this.context.db.sequelize.query(
        `INSERT INTO api_call_counts (workspace_uuid, installation, hour_start, calls, rate_limited, last_rate_limited_at) VALUES (:workspace, :installation, :hour, 0, 1, :now)
         ON CONFLICT (workspace_uuid, installation, hour_start) DO UPDATE SET rate_limited = api_call_counts.rate_limited + 1, last_rate_limited_at = EXCLUDED.last_rate_limited_at`,
        {
          replacements: {
            workspace,
            installation: installationKey(clientKey),
            hour: Math.floor(nowMs / HOUR_MS),
            now: nowMs,
          },
          transaction,
        },
      ),
    );
  }

  /** Drops hours that ended before `cutoffMs` (retention: a day is plenty for a rolling hour). */
  async purgeOlderThan(cutoffMs: number): Promise<number> {
    const hour = Math.floor(cutoffMs / HOUR_MS);
    return this.context.db.write(async (transaction) => {
      const before = await this.context.db.sequelize.query<{ n: number | string }>(
        'SELECT COUNT(*) AS n FROM api_call_counts WHERE hour_start < :hour',
        { replacements: { hour }, type: QueryTypes.SELECT, transaction },
      );
      await this.context.db.sequelize.query('DELETE FROM api_call_counts WHERE hour_start < :hour', {
        replacements: { hour },
        transaction,
      });
      return Number(before[0]?.n ?? 0);
    });
  }
}
