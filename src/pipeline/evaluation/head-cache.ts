import { LRUCache } from 'lru-cache';
import type { BitbucketClient } from '../../bitbucket';

/**
 * What an evaluation reads by full commit hash never changes: a file at a commit, the paths one
 * commit changed against its first parent. This per-process cache keeps them, so a job for a head
 * that another job (a duplicate delivery, a re-check, an approval, a second PR with the same head)
 * already read spends no API call on them. Keys carry the installation (tenant isolation), the
 * repository and the full hash; only answers are kept (errors are not), bounded in bytes (the
 * `lru-cache` package; entries larger than an eighth of the cache are not kept) and in age.
 * PR-level answers (the PR, its commit list and diffstat) are not cached: they change without a new head.
 */
export interface HeadCache {
  /** The cache seen by one installation (`tenantKey`: its client key). */
  forTenant(tenantKey: string): TenantHeadCache;
}

export interface TenantHeadCache {
  commitPaths(repoFullName: string, commitHash: string, read: () => Promise<string[]>): Promise<string[]>;
  fileAtCommit(
    repoFullName: string,
    commitHash: string,
    path: string,
    maxBytes: number,
    read: () => Promise<string | null>,
  ): Promise<string | null>;
  /** The same for a file's bytes; every answer is the caller's own copy (it may transfer it to a worker). */
  fileBytesAtCommit(
    repoFullName: string,
    commitHash: string,
    path: string,
    maxBytes: number,
    read: () => Promise<Uint8Array | null>,
  ): Promise<Uint8Array | null>;
}

export const DEFAULT_HEAD_CACHE_BYTES = 64 * 1024 * 1024;
const HEAD_CACHE_TTL_MS = 30 * 60_000;
const FULL_HASH = /^[0-9a-f]{40}$/;

type Entry = { paths: string[] } | { text: string | null } | { bytes: Uint8Array | null };

export function createHeadCache(maxBytes: number = DEFAULT_HEAD_CACHE_BYTES): HeadCache {
  const maxEntrySize = Math.max(1, Math.floor(maxBytes / 8));
  const cache = new LRUCache<string, Entry>({
    maxSize: maxBytes,
    maxEntrySize,
    ttl: HEAD_CACHE_TTL_MS,
    sizeCalculation: (entry, key) =>
      key.length * 2 +
      ('paths' in entry
        ? entry.paths.reduce((n, p) => n + p.length * 2 + 16, 16)
        : 'text' in entry
          ? (entry.text?.length ?? 0) * 2 + 16
          : (entry.bytes?.byteLength ?? 0) + 16),
  });
  return {
    forTenant(tenantKey) {
      const keyOf = (...parts: (string | number)[]) => JSON.stringify([tenantKey, ...parts]);
      return {
        async commitPaths(repoFullName, commitHash, read) {
          const hash = commitHash.toLowerCase();
          if (!FULL_HASH.test(hash)) return read();
          const key = keyOf('paths', repoFullName.toLowerCase(), hash);
          const hit = cache.get(key);
          if (hit !== undefined && 'paths' in hit) return [...hit.paths];
          const paths = await read();
          cache.set(key, { paths: [...paths] });
          return paths;
        },
        async fileAtCommit(repoFullName, commitHash, path, maxBytes, read) {
          const hash = commitHash.toLowerCase();
          if (!FULL_HASH.test(hash)) return read();
          const key = keyOf('file', repoFullName.toLowerCase(), hash, path, maxBytes);
          const hit = cache.get(key);
          if (hit !== undefined && 'text' in hit) return hit.text;
          const text = await read();
          cache.set(key, { text });
          return text;
        },
        async fileBytesAtCommit(repoFullName, commitHash, path, maxBytes, read) {
          const hash = commitHash.toLowerCase();
          if (!FULL_HASH.test(hash)) return read();
          const key = keyOf('bytes', repoFullName.toLowerCase(), hash, path, maxBytes);
          const hit = cache.get(key);
          if (hit !== undefined && 'bytes' in hit) return hit.bytes === null ? null : new Uint8Array(hit.bytes);
          const bytes = await read();
          // A copy is kept (the caller may hand its bytes to a worker), only when it would fit: a
          // file larger than an entry may be (a 10 MiB junk bundle) costs no copy on the event loop.
          if (bytes === null) cache.set(key, { bytes: null });
          else if (bytes.byteLength + key.length * 2 + 16 <= maxEntrySize)
            cache.set(key, { bytes: new Uint8Array(bytes) });
          return bytes;
        },
      };
    },
  };
}

/**
 * `client` with its file reads by full commit hash served from `cache` first (bundle discovery and
 * the run artifacts read through it). Every other method is the client's own (the object inherits it).
 */
export function withHeadCache(client: BitbucketClient, cache: TenantHeadCache): BitbucketClient {
  const cached = Object.create(client) as BitbucketClient;
  cached.getFileAtCommit = (workspace, repoSlug, commit, path, options = {}) =>
    cache.fileAtCommit(`${workspace}/${repoSlug}`, commit, path, options.maxBytes ?? -1, () =>
      client.getFileAtCommit(workspace, repoSlug, commit, path, options),
    );
  cached.getFileBytesAtCommit = (workspace, repoSlug, commit, path, options = {}) =>
    cache.fileBytesAtCommit(`${workspace}/${repoSlug}`, commit, path, options.maxBytes ?? -1, () =>
      client.getFileBytesAtCommit(workspace, repoSlug, commit, path, options),
    );
  return cached;
}
