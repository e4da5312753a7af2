/**
 * Reads a fetch Response body up to a byte limit. Stops reading (and cancels the stream) as soon as
 * the limit is passed, so a hostile or broken server cannot make us buffer an unbounded body.
 */
export type BoundedBody = { ok: true; bytes: Uint8Array } | { ok: false; limitBytes: number };

export async function readBoundedBody(response: Response, limitBytes: number): Promise<BoundedBody> {
  const declared = response.headers.get('content-length');
  if (declared !== null && /^\d+$/.test(declared) && Number(declared) > limitBytes) {
    await response.body?.cancel().catch(() => undefined);
    return { ok: false, limitBytes };
  }
  if (response.body === null) return { ok: true, bytes: new Uint8Array(0) };
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limitBytes) {
      await reader.cancel().catch(() => undefined);
      return { ok: false, limitBytes };
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return { ok: true, bytes };
}

/** Drops a body we will not read (redirects, retried responses) without buffering it. */
export async function discardBody(response: Response): Promise<void> {
  await response.body?.cancel().catch(() => undefined);
}
