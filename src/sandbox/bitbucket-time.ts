/**
 * Bitbucket's timestamp spellings, taken from captured payloads:
 * - object timestamps (`created_on`, `updated_on`): microseconds and `+00:00`
 *   ("2021-07-28T21:47:47.662234+00:00");
 * - commit dates: whole seconds and `+00:00` ("2021-07-28T21:46:44+00:00");
 * - `X-Event-Time` header: RFC 1123 ("Wed, 28 Jul 2021 21:47:48 GMT").
 */

export function formatObjectTimestamp(epochMs: number): string {
  const iso = new Date(epochMs).toISOString(); // 2021-07-28T21:47:47.662Z
  return `${iso.slice(0, 23)}000+00:00`;
}

export function formatCommitDate(epochMs: number): string {
  const iso = new Date(Math.floor(epochMs / 1000) * 1000).toISOString();
  return `${iso.slice(0, 19)}+00:00`;
}

export function formatHttpDate(epochMs: number): string {
  return new Date(epochMs).toUTCString();
}
