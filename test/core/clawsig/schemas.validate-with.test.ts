/**
 * validateWith: the issue shape the verifier consumes (paths into the bundle, Ajv's error order,
 * `required` / `unrecognized_keys` codes) and the value it returns, on the conformance pass vector.
 */
import { readFileSync } from 'node:fs';
import {
  CLAWSIG_SCHEMAS,
  CLAWSIG_SCHEMAS_BY_ID,
  CLAWSIG_SCHEMA_IDS,
  formatIssuePath,
  proofBundleEnvelopeV1Schema,
  proofBundleToolReceiptSchema,
  validateWith,
  type ProofBundleEnvelopeV1,
} from '../../../src/core/clawsig/schemas';
import { sharedPath } from '../../shared-data';

type JsonObject = { [key: string]: unknown };

function passVector(): JsonObject {
  return JSON.parse(
    readFileSync(sharedPath('clawsig', 'fixtures', 'protocol-conformance', 'proof_bundle_pass.v1.json'), 'utf8'),
  ) as JsonObject;
}

function receiptPayload(envelope: JsonObject, index = 0): JsonObject {
  const payload = envelope.payload as JsonObject;
  const receipts = payload.receipts as JsonObject[];
  return receipts[index]?.payload as JsonObject;
}

function issuesOf(value: unknown): { field: string; code: string }[] {
  const result = validateWith(proofBundleEnvelopeV1Schema, value);
  return result.ok ? [] : result.issues.map((issue) => ({ field: formatIssuePath(issue.path), code: issue.code }));
}

describe('validateWith on a proof bundle envelope', () => {
  it('accepts the conformance pass vector and hands back the very object it was given (hash it, not a copy)', () => {
    const envelope = passVector();
    const result = validateWith(proofBundleEnvelopeV1Schema, envelope);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value).toBe(envelope);
    const typed: ProofBundleEnvelopeV1 = result.value;
    expect(typed.payload.bundle_version).toBe('1');
    expect(Object.keys(typed.payload)).toEqual(Object.keys(envelope.payload as JsonObject));
  });

  it('points binding failures at payload.receipts[i].payload.binding.<field>', () => {
    const envelope = passVector();
    const binding = (receiptPayload(envelope).binding ?? {}) as JsonObject;
    receiptPayload(envelope).binding = { ...binding, phase: 'deploy', span_id: '', attributionConfidence: 'high' };
    expect(issuesOf(envelope)).toEqual([
      { field: 'payload.receipts[0].payload.binding.span_id', code: 'too_small' },
      { field: 'payload.receipts[0].payload.binding.phase', code: 'invalid_value' },
      { field: 'payload.receipts[0].payload.binding.attributionConfidence', code: 'invalid_type' },
    ]);
  });

  it('does not bound attribution_confidence: [0, 1] is a verifier rule, not a schema rule', () => {
    const envelope = passVector();
    receiptPayload(envelope).binding = { attribution_confidence: 7, attributionConfidence: -3 };
    expect(issuesOf(envelope)).toEqual([]);
  });

  it('names a missing required key and an unknown key by their own path', () => {
    const envelope = passVector();
    delete receiptPayload(envelope).model;
    receiptPayload(envelope).binding = { run_id: 'r', shard: 1 };
    expect(issuesOf(envelope)).toEqual([
      { field: 'payload.receipts[0].payload.model', code: 'required' },
      { field: 'payload.receipts[0].payload.binding.shard', code: 'unrecognized_keys' },
    ]);
  });

  it('orders issues as Ajv reports errors, so issues[0] is what the reference classifies', () => {
    const envelope = passVector();
    receiptPayload(envelope).binding = { phase: 'deploy' };
    // A missing top-level key is reported before anything inside payload (Ajv: required, then properties)...
    const missingAlgorithm: JsonObject = { ...envelope };
    delete missingAlgorithm.algorithm;
    expect(issuesOf(missingAlgorithm).map((issue) => issue.field)).toEqual([
      'algorithm',
      'payload.receipts[0].payload.binding.phase',
    ]);
    // ...and so is an unknown top-level key (additionalProperties, before properties),
    expect(issuesOf({ ...envelope, note: 'x' }).map((issue) => issue.field)).toEqual([
      'note',
      'payload.receipts[0].payload.binding.phase',
    ]);
    // while a later sibling property comes after the payload's issues (properties in schema order).
    expect(issuesOf({ ...envelope, issued_at: 'yesterday' }).map((issue) => issue.field)).toEqual([
      'payload.receipts[0].payload.binding.phase',
      'issued_at',
    ]);
  });

  it("rejects a legacy receipt entry (receipt_type, no envelope_type): dropping it is the caller's job", () => {
    const envelope = passVector();
    const payload = envelope.payload as JsonObject;
    payload.receipts = [...(payload.receipts as JsonObject[]), { receipt_type: 'gateway', receipt_id: 'legacy' }];
    expect(issuesOf(envelope).slice(0, 2)).toEqual([
      { field: 'payload.receipts[1].envelope_version', code: 'required' },
      { field: 'payload.receipts[1].envelope_type', code: 'required' },
    ]);
  });

  it("reports a tool receipt that fits no form once at the item, then the admitted form's issues", () => {
    const result = validateWith(proofBundleToolReceiptSchema, { receipt_version: '2', receipt_id: 'r' });
    expect(result.ok).toBe(false);
    expect(
      result.ok ? [] : result.issues.slice(0, 2).map((issue) => [formatIssuePath(issue.path), issue.code]),
    ).toEqual([
      ['', 'custom'],
      ['tool_name', 'required'],
    ]);
  });
});

describe('formatIssuePath', () => {
  it('writes fields the way the reference verifier names them', () => {
    expect(formatIssuePath(['payload', 'receipts', 3, 'payload', 'binding', 'phase'])).toBe(
      'payload.receipts[3].payload.binding.phase',
    );
    expect(formatIssuePath(['StringEquals', 'Model:Name'])).toBe('StringEquals["Model:Name"]');
    expect(formatIssuePath(['disclosed_leaves', '0'])).toBe('disclosed_leaves[0]');
    expect(formatIssuePath([])).toBe('');
  });
});

describe('registry', () => {
  it('maps all 39 official files, and their $ids, to our schemas', () => {
    // 37 + trust_pulse.v1 + urm.v1.
    expect(Object.keys(CLAWSIG_SCHEMAS)).toHaveLength(39);
    expect(Object.keys(CLAWSIG_SCHEMAS_BY_ID)).toHaveLength(39);
    expect(CLAWSIG_SCHEMAS_BY_ID[CLAWSIG_SCHEMA_IDS['poh/proof_bundle_envelope.v1.json']]).toBe(
      proofBundleEnvelopeV1Schema,
    );
  });
});
