import { createHash } from 'node:crypto';
import { createHeadCache } from '../../src/pipeline/evaluation/head-cache';
import { createVerifier, inlineVerifier, type Verifier } from '../../src/verification';

/**
 * Verifier.decodeFile (finding 6): a file read from a PR, up to the bundle limit, is decoded (strict
 * UTF-8) and hashed (SHA-256 of its exact bytes) in a pool worker, its bytes transferred rather than
 * copied; the inline verifier (CLI, direct tests) gives the same answers on the calling thread.
 */

const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('base64url');

describe('PR files are decoded and hashed in the verification pool', () => {
  let pool: Verifier;
  beforeAll(() => {
    pool = createVerifier({ threads: 1 });
  });
  afterAll(async () => {
    await pool.close();
  });

  test.each([
    ['pool', () => pool],
    ['inline', () => inlineVerifier],
  ])(
    '%s: the text encodes back to exactly the bytes hashed (a BOM is kept as U+FEFF, not dropped)',
    async (_, verifier) => {
      const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"a":"é ✓ 𝄞"}', 'utf8')]);
      const expected = sha(bytes);
      const file = await verifier().decodeFile(new Uint8Array(bytes));
      expect(file).toEqual({ text: '\uFEFF{"a":"é ✓ 𝄞"}', sha256B64u: expected });
      // What an evidence pack checks: the SHA-256 over the recorded text is the recorded file hash.
      if ('text' in file) expect(sha(Buffer.from(file.text, 'utf8'))).toBe(expected);
    },
  );

  test.each([
    ['pool', () => pool],
    ['inline', () => inlineVerifier],
  ])('%s: invalid UTF-8 (a lone continuation byte, an overlong form, a surrogate) is refused', async (_, verifier) => {
    for (const bad of [
      [0x7b, 0x80, 0x7d],
      [0xc0, 0xaf],
      [0xed, 0xa0, 0x80],
    ]) {
      await expect(verifier().decodeFile(new Uint8Array(bad))).resolves.toEqual({ problem: 'not_utf8' });
    }
  });

  test('a harness candidate is parsed in the worker for its bundle id only; not JSON says so', async () => {
    const enc = (text: string) => new Uint8Array(Buffer.from(text, 'utf8'));
    await expect(pool.decodeFile(enc('{"payload":{"bundle_id":"b-1"}}'), { bundleId: true })).resolves.toMatchObject({
      bundleId: { id: 'b-1' },
    });
    await expect(pool.decodeFile(enc('{"payload":{}}'), { bundleId: true })).resolves.toMatchObject({ bundleId: {} });
    await expect(pool.decodeFile(enc('{"payload":'), { bundleId: true })).resolves.toMatchObject({
      bundleId: 'not_json',
    });
    await expect(pool.decodeFile(enc('{}'))).resolves.not.toHaveProperty('bundleId');
  });

  test('a whole-buffer view is transferred (detached here, not copied); a view into a larger buffer is copied', async () => {
    const whole = new Uint8Array(Buffer.from('{"x":1}', 'utf8'));
    await pool.decodeFile(whole);
    expect(whole.byteLength).toBe(0);
    const backing = new Uint8Array(Buffer.from('xx{"x":1}yy', 'utf8'));
    const view = backing.subarray(2, 9);
    await expect(pool.decodeFile(view)).resolves.toMatchObject({ text: '{"x":1}' });
    expect(view.byteLength).toBe(7);
    expect(Buffer.from(backing).toString('utf8')).toBe('xx{"x":1}yy');
  });

  test('the head cache hands out its own copy of cached bytes, so a transferred answer never empties the cache', async () => {
    const cache = createHeadCache(1024 * 1024).forTenant('tenant-a');
    const commit = 'a'.repeat(40);
    let reads = 0;
    const read = async () => {
      reads++;
      return new Uint8Array(Buffer.from('{"cached":true}', 'utf8'));
    };
    const first = await cache.fileBytesAtCommit('acme/web', commit, 'b.json', 100, read);
    await pool.decodeFile(first!);
    expect(first!.byteLength).toBe(0);
    const second = await cache.fileBytesAtCommit('acme/web', commit, 'b.json', 100, read);
    expect(reads).toBe(1);
    expect(Buffer.from(second!).toString('utf8')).toBe('{"cached":true}');
    // Another tenant never sees it.
    await createHeadCache(1024 * 1024)
      .forTenant('tenant-b')
      .fileBytesAtCommit('acme/web', commit, 'b.json', 100, read);
    expect(reads).toBe(2);
  });
});
