/**
 * The schema check runs on the verification hot path: a bundle with 1,000 gateway receipts must
 * validate in well under 10 ms. The best of many runs is asserted (robust to a busy machine);
 * the median is logged.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { proofBundleEnvelopeV1Schema, validateWith } from '../../../src/core/clawsig/schemas';
import { sharedPath } from '../../shared-data';

type JsonObject = { [key: string]: unknown };

function bundleWithGatewayReceipts(count: number): JsonObject {
  const envelope = JSON.parse(
    readFileSync(sharedPath('clawsig', 'fixtures', 'protocol-conformance', 'proof_bundle_pass.v1.json'), 'utf8'),
  ) as JsonObject;
  const payload = envelope.payload as JsonObject;
  const template = JSON.stringify((payload.receipts as JsonObject[])[0]);
  const receipts: JsonObject[] = [];
  for (let i = 0; i < count; i++) {
    const receipt = JSON.parse(template) as JsonObject;
    const body = receipt.payload as JsonObject;
    body.receipt_id = `gr_${i}`;
    body.timestamp = `2026-02-12T18:${String(Math.floor(i / 60) % 60).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}.000Z`;
    body.binding = {
      ...(body.binding as JsonObject),
      span_id: `span_${i}`,
      parent_span_id: i > 0 ? `span_${i - 1}` : undefined,
      phase: 'execution',
      attribution_confidence: 1,
      nonce: `nonce_${i}`,
      policy_hash: 'mo72_ab1UHvxY2DERZG2Tn12KNl2e_NSUrVDEQ5-Jds',
      token_scope_hash_b64u: 'hFp6W3e7RQjxYWxKR3qZ3r7V4TdZvXKpXYLdH8SZZP0',
    };
    if (i === 0) delete (body.binding as JsonObject).parent_span_id;
    body.metadata = {
      model_identity: {
        model_identity_version: '1',
        tier: 'closed_opaque',
        model: { provider: 'anthropic', name: 'claude-sonnet-4' },
      },
    };
    receipts.push(JSON.parse(JSON.stringify(receipt)) as JsonObject);
  }
  payload.receipts = receipts;
  return envelope;
}

/**
 * Measured in a plain Node process: Jest runs tests inside a `vm` context, where global lookups are
 * several times slower than in production, which would measure Jest rather than our code.
 */
function benchmarkInNode(receipts: number, runs: number): { best: number; median: number; bytes: number } {
  const script = `
    const { proofBundleEnvelopeV1Schema, validateWith } = require(${JSON.stringify(path.join(__dirname, '../../../src/core/clawsig/schemas'))});
    const bundle = JSON.parse(require('node:fs').readFileSync(0, 'utf8'));
    for (let i = 0; i < 30; i++) if (!validateWith(proofBundleEnvelopeV1Schema, bundle).ok) throw new Error('bundle rejected');
    const times = [];
    for (let i = 0; i < ${runs}; i++) {
      const started = process.hrtime.bigint();
      validateWith(proofBundleEnvelopeV1Schema, bundle);
      times.push(Number(process.hrtime.bigint() - started) / 1e6);
    }
    times.sort((a, b) => a - b);
    process.stdout.write(JSON.stringify({ best: times[0], median: times[Math.floor(times.length / 2)] }));
  `;
  const bundle = JSON.stringify(bundleWithGatewayReceipts(receipts));
  const child = spawnSync(process.execPath, ['--require', require.resolve('tsx/cjs'), '-e', script], {
    input: bundle,
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (child.status !== 0) throw new Error(`benchmark failed: ${String(child.error ?? child.stderr)}`);
  return { ...(JSON.parse(child.stdout) as { best: number; median: number }), bytes: bundle.length };
}

describe('schema validation speed', () => {
  it('validates a proof bundle with 1,000 gateway receipts in well under 10 ms (plain Node)', () => {
    const { best, median, bytes } = benchmarkInNode(1000, 100);
    console.log(
      `1,000 gateway receipts (${bytes} bytes), plain Node: best ${best.toFixed(2)} ms, median ${median.toFixed(2)} ms`,
    );
    expect(best).toBeLessThan(6);
  });

  it('rejects a bad receipt deep in a large bundle, naming it, without slowing down', () => {
    const bundle = bundleWithGatewayReceipts(1000);
    const receipts = (bundle.payload as JsonObject).receipts as JsonObject[];
    ((receipts[999] as JsonObject).payload as JsonObject).tokens_input = -1;
    const started = process.hrtime.bigint();
    const result = validateWith(proofBundleEnvelopeV1Schema, bundle);
    const elapsed = Number(process.hrtime.bigint() - started) / 1e6;
    expect(result.ok ? [] : result.issues.map((issue) => issue.path.join('.'))).toEqual([
      'payload.receipts.999.payload.tokens_input',
    ]);
    // Inside Jest's vm context (several times slower than plain Node): a loose bound against pathologies.
    expect(elapsed).toBeLessThan(500);
  });

  it('uses no Ajv at runtime (Ajv is the test oracle only)', () => {
    const dir = path.join(__dirname, '../../../src/core/clawsig/schemas');
    for (const file of readdirSync(dir))
      expect({ file, ajv: /from ['"]ajv/.test(readFileSync(path.join(dir, file), 'utf8')) }).toEqual({
        file,
        ajv: false,
      });
  });
});
