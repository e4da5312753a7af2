import http from 'node:http';
import { makeProofBundle } from '../../src/testkit';
import { createVerifier, inlineVerifier, type Verifier } from '../../src/verification';
import { bearer, createApiWorld, type ApiWorld } from './support/api-world';

/**
 * Issue 9 (hostile bundles): an upload body of up to ~10 MiB from any token holder is decoded,
 * parsed, bounded and split in the verification pool, never on the event loop. A junk body gets its
 * error; a good one is stored exactly as before; and while a junk body is being parsed, another
 * workspace's request is answered first.
 */

const MAX_BUNDLE_BYTES = 10 * 1024 * 1024;

/** Tells when the pool starts splitting the next body (observes the real pool; changes nothing). */
function observed(pool: Verifier): Verifier & { nextSplit(): Promise<void> } {
  let waiting: (() => void)[] = [];
  return {
    evaluate: (task) => pool.evaluate(task),
    parseJson: (text, bounds) => pool.parseJson(text, bounds),
    quoteJsonString: (text) => pool.quoteJsonString(text),
    decodeFile: (bytes, options) => pool.decodeFile(bytes, options),
    splitJsonObject: (bytes, options) => {
      const started = waiting;
      waiting = [];
      for (const resolve of started) resolve();
      return pool.splitJsonObject(bytes, options);
    },
    close: () => pool.close(),
    nextSplit: () => new Promise<void>((resolve) => waiting.push(resolve)),
  };
}

/** 2 MiB of nested arrays: far past the depth bound, seconds of parsing on a loaded machine. */
const NESTED_JUNK = `{"bundle":${'['.repeat(1024 * 1024 - 8)}${']'.repeat(1024 * 1024 - 8)}}`;

/** Sends a junk body and, once the pool has it, another workspace's request: which is answered first. */
async function answerOrder(world: ApiWorld, pool: ReturnType<typeof observed>): Promise<string[]> {
  const order: string[] = [];
  const splitting = pool.nextSplit();
  const junkAnswer = post(world, `/api/v1/workspaces/${world.a.slug}/bundles`, world.a.token, NESTED_JUNK).then(
    (response) => {
      order.push('junk');
      return response;
    },
  );
  await splitting;
  const other = await world
    .http()
    .get(`/api/v1/workspaces/${world.b.slug}/settings`)
    .set(...bearer(world.b));
  order.push('other');
  expect(other.status).toBeLessThan(500);
  expect((await junkAnswer).status).toBe(413);
  return order;
}

function post(
  world: ApiWorld,
  path: string,
  token: string,
  body: Buffer | string,
  contentType = 'application/json',
): Promise<{ status: number; json: { error?: { code: string; message: string } } }> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      `${world.url}${path}`,
      {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': contentType,
          'content-length': Buffer.byteLength(body),
        },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            json: JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as {
              error?: { code: string; message: string };
            },
          }),
        );
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

describe('POST /workspaces/{ws}/bundles parses the body in the verification pool', () => {
  let world: ApiWorld;
  let pool: ReturnType<typeof observed>;
  const path = () => `/api/v1/workspaces/${world.a.slug}/bundles`;

  beforeAll(async () => {
    pool = observed(createVerifier({ threads: 1 }));
    world = await createApiWorld({ maxBundleBytes: MAX_BUNDLE_BYTES, verifier: pool });
  });
  afterAll(async () => {
    await world.close();
    await pool.close();
  });

  it('a good upload is stored exactly as before (the canonical text of the bundle, its URM and pulse)', async () => {
    const { envelope, bundleId } = makeProofBundle();
    const urm = { urm_version: '1', inputs: [{ path: 'a', hash: 'x' }] };
    const response = await post(world, path(), world.a.token, JSON.stringify({ bundle: envelope, urm }, null, 2));
    expect(response.status).toBe(201);
    const stored = await world.store.bundles.get(world.a.id, bundleId);
    expect(stored?.envelopeText).toBe(JSON.stringify(envelope));
    expect(stored?.urmText).toBe(JSON.stringify(urm));
  });

  it.each<[string, () => Buffer | string, number, string]>([
    ['2 MiB of nested arrays', () => NESTED_JUNK, 413, 'PAYLOAD_TOO_LARGE'],
    [
      'an envelope whose receipts list is 200,000 long',
      () => `{"bundle":{"payload":{"receipts":[${Array(200_000).fill('{}').join(',')}]}}}`,
      413,
      'PAYLOAD_TOO_LARGE',
    ],
    ['a body that is not JSON', () => '{"bundle": nope', 400, 'INVALID_JSON'],
    ['a body that is not UTF-8', () => Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), 400, 'INVALID_JSON'],
    ['a JSON array instead of an object', () => '[1,2,3]', 422, 'VALIDATION_FAILED'],
    ['a blank body', () => '   ', 400, 'BODY_REQUIRED'],
    [
      'a URM that is a list',
      () => JSON.stringify({ bundle: makeProofBundle().envelope, urm: [1, 2] }),
      422,
      'VALIDATION_FAILED',
    ],
    [
      'a scoped token longer than 16 KiB',
      () => JSON.stringify({ bundle: makeProofBundle().envelope, scoped_token: `a.b.${'c'.repeat(20_000)}` }),
      422,
      'VALIDATION_FAILED',
    ],
  ])('%s: refused with its error', async (_name, body, status, code) => {
    const response = await post(world, path(), world.a.token, body());
    expect(response.status).toBe(status);
    expect(response.json.error?.code).toBe(code);
  });

  it("another workspace's request is answered while a junk body is still being parsed", async () => {
    expect(await answerOrder(world, pool)).toEqual(['other', 'junk']);
  });
});

describe('control: the same junk parsed on the calling thread holds every other request', () => {
  it('answers the other workspace only after the junk (what the pool prevents)', async () => {
    const inline = observed(inlineVerifier);
    const world = await createApiWorld({ maxBundleBytes: MAX_BUNDLE_BYTES, verifier: inline });
    try {
      expect(await answerOrder(world, inline)).toEqual(['junk', 'other']);
    } finally {
      await world.close();
    }
  });
});
