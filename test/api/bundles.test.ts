import { Readable } from 'node:stream';
import http from 'node:http';
import { sha256B64u } from '../../src/core/clawsig/hashing';
import { makeProofBundle } from '../../src/testkit';
import { bearer, createApiWorld, storedState, type ApiWorld } from './support/api-world';

let world: ApiWorld;

beforeAll(async () => {
  world = await createApiWorld();
});

afterAll(async () => {
  await world.close();
});

const path = (ws = world.a) => `/api/v1/workspaces/${ws.slug}/bundles`;
const SCOPED_TOKEN = 'eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJkaWQ6a2V5OnoifQ.c2ln';

describe('POST /workspaces/{ws}/bundles', () => {
  it('stores the envelope (201 {bundle_id}) with its SHA-256 and the scoped token, and audits the upload', async () => {
    const { envelope, bundleId } = makeProofBundle();
    const response = await world
      .http()
      .post(path())
      .set(...bearer(world.a))
      .send({ bundle: envelope, scoped_token: SCOPED_TOKEN });
    expect(response.status).toBe(201);
    expect(response.body).toEqual({ bundle_id: bundleId });
    const stored = await world.store.bundles.get(world.a.id, bundleId);
    expect(stored).toMatchObject({
      envelopeText: JSON.stringify(envelope),
      sha256B64u: sha256B64u(JSON.stringify(envelope)),
      scopedToken: SCOPED_TOKEN,
      source: 'api',
    });
    expect(JSON.parse(stored?.envelopeText ?? '')).toEqual(envelope);
    const [event] = (await world.store.audit.query(world.a.id, { kinds: ['bundle.uploaded'] })).slice(-1);
    expect(event).toMatchObject({
      subject: bundleId,
      actor: `api_token:${world.a.tokenId}`,
      after: { has_scoped_token: true },
    });
    expect(JSON.stringify(event)).not.toContain(SCOPED_TOKEN);
  });

  it('answers 200 for the same bundle again (whitespace does not matter) and 409 for other content under the same id', async () => {
    const { envelope, bundleId } = makeProofBundle();
    await world
      .http()
      .post(path())
      .set(...bearer(world.a))
      .send({ bundle: envelope })
      .expect(201);
    const pretty = JSON.stringify({ bundle: envelope }, null, 2);
    const again = await world
      .http()
      .post(path())
      .set(...bearer(world.a))
      .set('Content-Type', 'application/json')
      .send(pretty);
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ bundle_id: bundleId });
    const before = await world.store.bundles.get(world.a.id, bundleId);
    const other = makeProofBundle({ bundleId }).envelope;
    const conflict = await world
      .http()
      .post(path())
      .set(...bearer(world.a))
      .send({ bundle: other });
    expect(conflict.status).toBe(409);
    expect(conflict.body.error.code).toBe('BUNDLE_ID_CONFLICT');
    expect(await world.store.bundles.get(world.a.id, bundleId)).toEqual(before);
  });

  it('keeps workspaces apart: the same bundle id in B is a different bundle', async () => {
    const { envelope, bundleId } = makeProofBundle();
    await world
      .http()
      .post(path())
      .set(...bearer(world.a))
      .send({ bundle: envelope })
      .expect(201);
    const inB = await world
      .http()
      .post(path(world.b))
      .set(...bearer(world.b))
      .send({ bundle: makeProofBundle({ bundleId }).envelope });
    expect(inB.status).toBe(201);
    expect((await world.store.bundles.get(world.a.id, bundleId))?.envelopeText).toBe(JSON.stringify(envelope));
  });

  it.each<[string, string, string[], () => unknown]>([
    [
      'a bare payload (no envelope)',
      'NOT_AN_ENVELOPE',
      ['bundle'],
      () => ({ bundle: makeProofBundle().envelope.payload }),
    ],
    ['a bundle that is a string', 'NOT_AN_ENVELOPE', ['bundle'], () => ({ bundle: 'bundle_1' })],
    ['no bundle at all', 'VALIDATION_FAILED', ['bundle'], () => ({ scoped_token: SCOPED_TOKEN })],
    [
      'an empty payload.bundle_id',
      'VALIDATION_FAILED',
      ['bundle.payload.bundle_id'],
      () => withPayload({ bundle_id: '' }),
    ],
    [
      'a missing payload.bundle_id',
      'VALIDATION_FAILED',
      ['bundle.payload.bundle_id'],
      () => withPayload({ bundle_id: undefined }),
    ],
    [
      'a non-string payload.bundle_id',
      'VALIDATION_FAILED',
      ['bundle.payload.bundle_id'],
      () => withPayload({ bundle_id: 42 }),
    ],
    [
      'another envelope type',
      'VALIDATION_FAILED',
      ['bundle.envelope_type'],
      () => ({ bundle: { ...makeProofBundle().envelope, envelope_type: 'gateway_receipt' } }),
    ],
    [
      'a payload that is not an object',
      'VALIDATION_FAILED',
      ['bundle.payload'],
      () => ({ bundle: { ...makeProofBundle().envelope, payload: [] } }),
    ],
    [
      'a scoped token that is not a JWS',
      'VALIDATION_FAILED',
      ['scoped_token'],
      () => ({ bundle: makeProofBundle().envelope, scoped_token: 'not a jwt' }),
    ],
    ['an unknown field', 'VALIDATION_FAILED', ['bundel'], () => ({ bundle: makeProofBundle().envelope, bundel: {} })],
  ])('refuses %s with 422 %s at the field path, storing nothing', async (_name, code, paths, build) => {
    const body = build() as { bundle?: { payload?: { bundle_id?: unknown } } };
    const before = await storedState(world.store, world.a.id);
    const response = await world
      .http()
      .post(path())
      .set(...bearer(world.a))
      .send(body as object);
    expect(response.status).toBe(422);
    expect(response.body.error.code).toBe(code);
    expect(response.body.error.fields.map((field: { path: string }) => field.path)).toEqual(paths);
    expect(await storedState(world.store, world.a.id)).toEqual(before);
    const id = body.bundle?.payload?.bundle_id;
    if (typeof id === 'string' && id !== '') expect(await world.store.bundles.get(world.a.id, id)).toBeNull();
  });
});

function withPayload(changes: Record<string, unknown>): unknown {
  const { envelope } = makeProofBundle();
  return { bundle: { ...envelope, payload: { ...(envelope.payload as object), ...changes } } };
}

describe('bundle size limits', () => {
  let small: ApiWorld;

  beforeAll(async () => {
    small = await createApiWorld({ maxBundleBytes: 8 * 1024 });
  });

  afterAll(async () => {
    await small.close();
  });

  function bigBundle(bytes: number): { envelope: Record<string, unknown>; bundleId: string } {
    const { envelope, bundleId } = makeProofBundle();
    return {
      envelope: { ...envelope, payload: { ...(envelope.payload as object), metadata: { padding: 'x'.repeat(bytes) } } },
      bundleId,
    };
  }

  it('answers 413 PAYLOAD_TOO_LARGE for a bundle over maxBundleBytes, storing nothing', async () => {
    const { envelope, bundleId } = bigBundle(10 * 1024);
    const response = await small
      .http()
      .post(`/api/v1/workspaces/${small.a.slug}/bundles`)
      .set(...bearer(small.a))
      .send({ bundle: envelope });
    expect(response.status).toBe(413);
    expect(response.body.error.code).toBe('PAYLOAD_TOO_LARGE');
    expect(await small.store.bundles.get(small.a.id, bundleId)).toBeNull();
  });

  it('answers 413 for a body far over the limit, also when streamed without Content-Length', async () => {
    const { envelope } = bigBundle(200 * 1024);
    const declared = await small
      .http()
      .post(`/api/v1/workspaces/${small.a.slug}/bundles`)
      .set(...bearer(small.a))
      .send({ bundle: envelope });
    expect(declared.status).toBe(413);
    expect(declared.body.error.code).toBe('PAYLOAD_TOO_LARGE');

    const url = new URL(`/api/v1/workspaces/${small.a.slug}/bundles`, small.url);
    const streamed = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(
        url,
        {
          method: 'POST',
          headers: {
            'Content-Type': 'application/json',
            Authorization: `Bearer ${small.a.token}`,
            'Transfer-Encoding': 'chunked',
          },
        },
        (res) => {
          let data = '';
          res.on('data', (chunk: Buffer) => (data += chunk.toString('utf8')));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data }));
        },
      );
      req.on('error', reject);
      Readable.from([JSON.stringify({ bundle: envelope })]).pipe(req);
    });
    expect(streamed.status).toBe(413);
    expect(JSON.parse(streamed.body).error.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('accepts a bundle just under the limit', async () => {
    const { envelope, bundleId } = bigBundle(4 * 1024);
    const response = await small
      .http()
      .post(`/api/v1/workspaces/${small.a.slug}/bundles`)
      .set(...bearer(small.a))
      .send({ bundle: envelope });
    expect(response.status).toBe(201);
    expect(response.body.bundle_id).toBe(bundleId);
  });
});
