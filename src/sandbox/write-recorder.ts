/**
 * Everything the app wrote (and every rejected authentication), for tests to assert on. A write is
 * recorded with the HTTP status it got, so rejected writes (400 on limits) are visible too.
 */
export interface RecordedWrite {
  method: string;
  path: string;
  /** Principal id ("connect:<clientKey>" or "token:<id>"). */
  principal: string;
  /** Repository full name. */
  repository: string;
  commit?: string;
  pullRequestId?: number;
  body: unknown;
  /** HTTP status the sandbox answered. */
  status: number;
  at: number;
}

export interface AuthFailure {
  method: string;
  path: string;
  scheme: 'JWT' | 'Bearer' | 'Basic' | 'none' | 'other';
  reason: string;
  /** `iss`/`sub` of a JWT when decodable; never the token itself. */
  claims?: { iss?: unknown; sub?: unknown };
  at: number;
}

export interface RecordedRequest {
  method: string;
  path: string;
  principal: string | null;
  status: number;
  at: number;
}

export type WriteKind = 'statuses' | 'reports' | 'annotations' | 'comments' | 'branchRestrictions' | 'hooks';

export class WriteRecorder {
  readonly statuses: RecordedWrite[] = [];
  readonly reports: RecordedWrite[] = [];
  readonly annotations: RecordedWrite[] = [];
  readonly comments: RecordedWrite[] = [];
  readonly branchRestrictions: RecordedWrite[] = [];
  readonly hooks: RecordedWrite[] = [];
  readonly authFailures: AuthFailure[] = [];
  /** Every /2.0 request with its final status. */
  readonly requests: RecordedRequest[] = [];

  record(kind: WriteKind, write: RecordedWrite): void {
    this[kind].push(write);
  }

  clear(): void {
    for (const list of [
      this.statuses,
      this.reports,
      this.annotations,
      this.comments,
      this.branchRestrictions,
      this.hooks,
      this.authFailures,
      this.requests,
    ]) {
      list.length = 0;
    }
  }
}
