import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

/**
 * How clawgate recognises its own build statuses (docs/operations.md, forged-status defence).
 *
 * Bitbucket announces every status write (`repo:commit_status_created|updated`), clawgate's own
 * included, and the webhook's `actor` does not reliably say who wrote it (the captured payload of a
 * Pipelines status names the workspace's team account; what an app's write carries is UNCONFIRMED).
 * So every status clawgate writes carries a mark in its `url`: `…?cg=<t>.<mac>` where
 * `mac = HMAC-SHA256(k, [repo, commit, key, state, description, url without the mark, refname, t])`
 * truncated to 128 bits, and `k` is derived from CLAWGATE_SECRET_KEY (HKDF, own label). Anyone can
 * read a status, nobody else can mint one: changing any field breaks the mark.
 *
 * `t` is the time of the record the status stands for (the evaluation's or incident's creation time;
 * the start of an evaluation for its INPROGRESS status). A copy of an older genuine status replayed
 * later carries an older `t` than the newest record for that commit, which is how a replay is told
 * from the current verdict (see forged-status.ts).
 */

export const STATUS_MARK_PARAM = 'cg';
const MARK_SUFFIX = new RegExp(`[?&]${STATUS_MARK_PARAM}=(\\d{1,15})\\.([A-Za-z0-9_-]{22})$`);
const MAC_BYTES = 16;
const HKDF_INFO = 'clawgate/status-mark/v1';

/** The fields of a build status the mark covers. */
export interface MarkedStatusFields {
  /** `workspace/repo_slug` (compared case-insensitively). */
  repoFullName: string;
  /** Full 40-hex commit. */
  commit: string;
  key: string;
  state: string;
  description: string;
  /** The URL without the mark. */
  url: string;
  refname: string | null;
}

export interface StatusMarkReading {
  /** The URL with any mark removed. */
  baseUrl: string;
  /** True when a mark is present and verifies under one of the keys. */
  valid: boolean;
  /** The mark's `t` (ms since the epoch) when valid. */
  atMs: number | null;
}

export interface StatusMarker {
  /** The URL to send: `fields.url` with the mark appended. Remembered as this process's latest write on the commit. */
  mark(fields: MarkedStatusFields, atMs: number): string;
  /** Reads a status as Bitbucket returns it (`url` possibly carrying a mark). */
  read(fields: Omit<MarkedStatusFields, 'url'> & { url: string | null | undefined }): StatusMarkReading;
  /**
   * True when a status webhook carries exactly the latest status this process wrote on that commit,
   * within the echo window: Bitbucket echoing our own write, which needs no check (and no API call).
   * Only the latest write counts: a copy of an earlier one (a replay) is checked like anything else.
   */
  isEchoOfLatestWrite(fields: MarkedStatusFields): boolean;
}

export interface StatusMarkerOptions {
  /** How long after a write its webhook counts as an echo (default 2 minutes). */
  echoWindowMs?: number;
  /** Commits remembered (default 10,000; oldest forgotten first). */
  maxRemembered?: number;
  now?: () => number;
}

function deriveKey(secret: Uint8Array): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), HKDF_INFO, 32));
}

function macOf(key: Buffer, fields: MarkedStatusFields, atMs: number): Buffer {
  const canonical = JSON.stringify([
    'v1',
    fields.repoFullName.toLowerCase(),
    fields.commit.toLowerCase(),
    fields.key,
    fields.state,
    fields.description,
    fields.url,
    fields.refname ?? '',
    atMs,
  ]);
  return createHmac('sha256', key).update(canonical, 'utf8').digest().subarray(0, MAC_BYTES);
}

/** The URL without a trailing clawgate mark (statuses written by others are returned unchanged). */
export function stripStatusMark(url: string): string {
  return url.replace(MARK_SUFFIX, '');
}

/**
 * A marker keyed by the current secret key; `previousKeys` still verify (key rotation), so statuses
 * written before a rotation are not mistaken for forgeries.
 */
export function createStatusMarker(
  currentKey: Uint8Array,
  previousKeys: readonly Uint8Array[] = [],
  options: StatusMarkerOptions = {},
): StatusMarker {
  const signing = deriveKey(currentKey);
  const verifying = [signing, ...previousKeys.map(deriveKey)];
  const echoWindowMs = options.echoWindowMs ?? 120_000;
  const maxRemembered = options.maxRemembered ?? 10_000;
  const now = options.now ?? Date.now;
  /** commit key → the exact fields of this process's latest write there, and when. */
  const latest = new Map<string, { fingerprint: string; at: number }>();
  const commitKey = (fields: MarkedStatusFields) =>
    `${fields.repoFullName.toLowerCase()}\u0000${fields.commit.toLowerCase()}\u0000${fields.key}`;
  const fingerprint = (fields: MarkedStatusFields) =>
    JSON.stringify([fields.state, fields.description, fields.url, fields.refname ?? '']);
  return {
    mark(fields, atMs) {
      if (!Number.isSafeInteger(atMs) || atMs < 0)
        throw new RangeError('status mark time must be a non-negative integer');
      const base = stripStatusMark(fields.url);
      const mac = macOf(signing, { ...fields, url: base }, atMs).toString('base64url');
      const url = `${base}${base.includes('?') ? '&' : '?'}${STATUS_MARK_PARAM}=${atMs}.${mac}`;
      const key = commitKey(fields);
      latest.delete(key);
      latest.set(key, { fingerprint: fingerprint({ ...fields, url }), at: now() });
      if (latest.size > maxRemembered) {
        const oldest = latest.keys().next();
        if (!oldest.done) latest.delete(oldest.value);
      }
      return url;
    },
    isEchoOfLatestWrite(fields) {
      const fresh = (entry: { fingerprint: string; at: number } | undefined) =>
        entry !== undefined && now() - entry.at <= echoWindowMs && entry.fingerprint === fingerprint(fields);
      if (fresh(latest.get(commitKey(fields)))) return true;
      // A write on the head as a webhook named it (12 characters, before the head was resolved) is
      // echoed with the full hash; only states that never pass a build are written that way.
      if ((fields.state === 'INPROGRESS' || fields.state === 'FAILED') && fields.commit.length === 40) {
        const short = latest.get(commitKey({ ...fields, commit: fields.commit.slice(0, 12) }));
        if (fresh(short) && !latest.has(commitKey(fields))) return true;
        if (fresh(short)) {
          const full = latest.get(commitKey(fields));
          return full !== undefined && short !== undefined && short.at >= full.at;
        }
      }
      return false;
    },
    read(fields) {
      const url = fields.url ?? '';
      const match = MARK_SUFFIX.exec(url);
      const baseUrl = stripStatusMark(url);
      if (!match) return { baseUrl, valid: false, atMs: null };
      const atMs = Number(match[1]);
      const given = Buffer.from(match[2] ?? '', 'base64url');
      if (given.length !== MAC_BYTES || !Number.isSafeInteger(atMs)) return { baseUrl, valid: false, atMs: null };
      // The first INPROGRESS of a job (and its FAILED when the first read fails) is written on the
      // head as the webhook named it (often 12 characters, before any read: issue 9), so its mark
      // covers that prefix. Only states that never pass a build are accepted over a prefix.
      const commits =
        (fields.state === 'INPROGRESS' || fields.state === 'FAILED') && fields.commit.length === 40
          ? [fields.commit, fields.commit.slice(0, 12)]
          : [fields.commit];
      const valid = commits.some((commit) =>
        verifying.some((key) => timingSafeEqual(macOf(key, { ...fields, commit, url: baseUrl }, atMs), given)),
      );
      return { baseUrl, valid, atMs: valid ? atMs : null };
    },
  };
}
