import { createHash } from 'node:crypto';
import type { MessagePort } from 'node:worker_threads';
import { isJsonObject } from '../core/clawsig/json';

/**
 * A file read from a PR (a bundle, a URM: up to the bundle limit) made into text in a worker: the
 * event loop only receives the bytes and hands them over (transferred, not copied). On the event loop
 * a 10 MiB junk bundle cost a strict UTF-8 decode (≈53 ms), a UTF-8 re-encode for its digest (≈26 ms)
 * and WebCrypto's copy of the data (≈44 ms) — bench/junk-bundle-latency.ts, bench/RESULTS.md.
 */
export type FileText =
  | {
      text: string;
      /** SHA-256 (base64url) of the exact bytes read: what the evaluation records as the bundle hash. */
      sha256B64u: string;
      /** Only when asked for: the parsed text's `payload.bundle_id` (a harness-layout candidate), or not JSON. */
      bundleId?: { id?: string } | 'not_json';
    }
  | { problem: 'not_utf8' };

function bundleIdOf(text: string): { id?: string } | 'not_json' {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return 'not_json';
  }
  const payload = isJsonObject(value) && isJsonObject(value.payload) ? value.payload : undefined;
  return payload && typeof payload.bundle_id === 'string' ? { id: payload.bundle_id } : {};
}

/**
 * Strict UTF-8 decode (invalid bytes are refused, never replaced; a byte-order mark is kept as
 * U+FEFF, so the text encodes back to exactly these bytes) and SHA-256 of the same bytes.
 */
export function decodeFileTask(task: { bytes: Uint8Array; bundleId?: boolean; startPort?: MessagePort }): FileText {
  task.startPort?.postMessage('started');
  task.startPort?.close();
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(task.bytes);
  } catch {
    return { problem: 'not_utf8' };
  }
  const sha256B64u = createHash('sha256').update(task.bytes).digest('base64url');
  return task.bundleId ? { text, sha256B64u, bundleId: bundleIdOf(text) } : { text, sha256B64u };
}
