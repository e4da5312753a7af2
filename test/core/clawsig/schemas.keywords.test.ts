/**
 * The JSON Schema keyword building blocks (src/core/clawsig/schemas/keywords.ts, uri-format.ts)
 * against the reference's own implementations: Ajv's ucs2length, ajv-formats' date-time and uri,
 * and Ajv's oneOf/maxProperties semantics on synthetic schemas the official files do not contain
 * (e.g. overlapping oneOf branches, which the official tool/VIR receipt forms can never produce).
 */
import Ajv2020 from 'ajv/dist/2020';
import ucs2length from 'ajv/dist/runtime/ucs2length';
import addFormats from 'ajv-formats';
import fc from 'fast-check';
import { z } from 'zod';
import { isRfc3339DateTime } from '../../../src/core/clawsig/rfc3339';
import { codePointLength, isJsonSchemaUri, validateWith } from '../../../src/core/clawsig/schemas';
import {
  field,
  isDateTime,
  jsonInteger,
  jsonRecord,
  jsonString,
  maxProperties,
  oneOf,
} from '../../../src/core/clawsig/schemas/keywords';

const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
const ajvDateTime = ajv.compile({ type: 'string', format: 'date-time' });
const ajvUri = ajv.compile({ type: 'string', format: 'uri' });

const surrogateHalf = fc.constantFrom('\ud83d', '\ude00', '\udbff', '\udc00');
const anyUnit = fc.oneof(fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }), surrogateHalf);

describe('codePointLength', () => {
  it('counts like Ajv (surrogate pairs are one character, lone surrogates count too)', () => {
    expect(codePointLength('😀')).toBe(1);
    expect(codePointLength('a😀b')).toBe(3);
    expect(codePointLength('\ud83d')).toBe(1);
    expect(codePointLength('\ude00\ud83d')).toBe(2);
    fc.assert(
      fc.property(fc.string({ unit: anyUnit, maxLength: 40 }), (text) => codePointLength(text) === ucs2length(text)),
      { numRuns: 3000 },
    );
  });

  it('is what minLength/maxLength count: 8 emoji pass minLength 8, 1024 emoji pass maxLength 1024', () => {
    const atLeast8 = jsonString({ minLength: 8 });
    expect(atLeast8.safeParse('😀'.repeat(8)).success).toBe(true);
    expect(atLeast8.safeParse('😀'.repeat(7)).success).toBe(false); // 14 UTF-16 units, 7 characters
    const atMost1024 = jsonString({ maxLength: 1024 });
    expect(atMost1024.safeParse('😀'.repeat(1024)).success).toBe(true); // 2048 UTF-16 units
    expect(atMost1024.safeParse('😀'.repeat(1025)).success).toBe(false);
  });
});

describe('date-time', () => {
  const dateTimeLike = fc
    .tuple(
      fc.integer({ min: 0, max: 9999 }),
      fc.integer({ min: 0, max: 13 }),
      fc.integer({ min: 0, max: 32 }),
      fc.constantFrom('T', 't', ' ', '\t', '_', 'TT'),
      fc.integer({ min: 0, max: 25 }),
      fc.integer({ min: 0, max: 61 }),
      fc.integer({ min: 0, max: 61 }),
      fc.constantFrom('', '.5', '.123456789', '.', ',5'),
      fc.constantFrom(
        'Z',
        'z',
        '',
        '+00:00',
        '-00:00',
        '+01:00',
        '-01:00',
        '+23:59',
        '-23:59',
        '+24:00',
        '+01:60',
        '+0100',
        '+01',
        '+1:00',
      ),
    )
    .map(
      ([y, mo, d, sep, h, mi, s, frac, zone]) =>
        `${String(y).padStart(4, '0')}-${String(mo).padStart(2, '0')}-${String(d).padStart(2, '0')}${sep}${String(h).padStart(2, '0')}:${String(mi).padStart(2, '0')}:${String(s).padStart(2, '0')}${frac}${zone}`,
    );

  it('accepts exactly what ajv-formats accepts (fast path and full rule alike)', () => {
    fc.assert(
      fc.property(fc.oneof(dateTimeLike, fc.string({ unit: anyUnit, maxLength: 30 })), (text) => {
        const expected = ajvDateTime(text);
        return isDateTime(text) === expected && isRfc3339DateTime(text) === expected;
      }),
      { numRuns: 20000 },
    );
  });

  it('takes leap seconds only at 23:59:60 UTC, requires a zone, and knows the calendar', () => {
    expect(isDateTime('2016-12-31T23:59:60Z')).toBe(true);
    expect(isDateTime('2017-01-01T00:59:60+01:00')).toBe(true);
    expect(isDateTime('2016-12-31T22:59:60Z')).toBe(false);
    expect(isDateTime('2026-02-12T18:00:00')).toBe(false);
    expect(isDateTime('2026-02-30T00:00:00Z')).toBe(false);
    expect(isDateTime('2024-02-29T00:00:00Z')).toBe(true);
    expect(isDateTime('1900-02-29T00:00:00Z')).toBe(false);
    expect(isDateTime('2026-02-12 18:00:00z')).toBe(true);
  });
});

describe('format uri', () => {
  const uriAlphabet = fc.constantFrom(..."abcxyzHTTPS019:/?#[]@!$&'()*+,;=%-._~ üé".split(''));
  it('accepts exactly what ajv-formats accepts', () => {
    const candidates = fc.oneof(
      fc.string({ unit: uriAlphabet, maxLength: 30 }),
      fc
        .tuple(
          fc.constantFrom('https://', 'http://', 'urn:', 'mailto:', 'x:', '1a:', 'a+b.c-d:', '//', ''),
          fc.string({ unit: uriAlphabet, maxLength: 25 }),
        )
        .map(([scheme, rest]) => `${scheme}${rest}`),
      fc.webUrl({ withQueryParameters: true, withFragments: true }),
    );
    fc.assert(
      fc.property(candidates, (text) => isJsonSchemaUri(text) === ajvUri(text)),
      { numRuns: 10000 },
    );
  });
});

describe('jsonInteger', () => {
  it('is JSON Schema integer: any number without a fractional part, beyond the safe range too', () => {
    const integer = jsonInteger({ minimum: 0 });
    for (const accepted of [0, 3, 1e300, 2 ** 53 + 2, 5.0]) expect(integer.safeParse(accepted).success).toBe(true);
    for (const rejected of [1.5, -1, '3', null]) expect(integer.safeParse(rejected).success).toBe(false);
  });
});

describe('jsonRecord', () => {
  it('validates an own "__proto__" key (as JSON.parse creates it) like any other key', () => {
    const record = jsonRecord(jsonString({ minLength: 8 }));
    const parsed: unknown = JSON.parse('{"__proto__": "short", "ok": "long enough"}');
    const result = validateWith(record, parsed);
    expect(result.ok).toBe(false);
    expect(result.ok ? [] : result.issues.map((issue) => issue.path)).toEqual([['__proto__']]);
    expect(record.safeParse(JSON.parse('{"__proto__": "long enough"}')).success).toBe(true);
    expect(record.safeParse([]).success).toBe(false);
  });
});

describe('object rules run even when a property failed (as Ajv does with allErrors)', () => {
  it('reports maxProperties next to a bad value', () => {
    const map = jsonRecord(jsonString({ maxLength: 2 })).check(maxProperties(2));
    const result = validateWith(map, { a: 'ok', b: 'too long', c: 'x' });
    expect(result.ok ? [] : result.issues.map((issue) => [issue.path.join('/'), issue.code])).toEqual([
      ['', 'too_big'],
      ['b', 'too_big'],
    ]);
  });
});

describe('oneOf', () => {
  // Overlapping branches (unlike the official tool/VIR forms): {a: string} and {b: number}, both open.
  const reference = ajv.compile({
    oneOf: [
      { type: 'object', required: ['a'], properties: { a: { type: 'string' } } },
      { type: 'object', required: ['b'], properties: { b: { type: 'number' } } },
    ],
  });
  const ours = oneOf([
    { name: 'a', schema: z.looseObject({ a: z.string() }), admits: () => true },
    { name: 'b', schema: z.looseObject({ b: z.number() }), admits: () => true },
  ]);

  it('accepts a value matching exactly one branch and rejects one matching both or neither', () => {
    const samples: unknown[] = [
      { a: 'x' },
      { b: 1 },
      { a: 'x', b: 1 },
      {},
      { a: 1 },
      { a: 'x', b: 'y' },
      null,
      [],
      'a',
    ];
    for (const sample of samples)
      expect({ sample, ok: ours.safeParse(sample).success }).toEqual({ sample, ok: reference(sample) });
    fc.assert(
      fc.property(
        fc.record(
          { a: fc.oneof(fc.string(), fc.integer()), b: fc.oneof(fc.string(), fc.integer()) },
          { requiredKeys: [] },
        ),
        (sample) => ours.safeParse(sample).success === reference(sample),
      ),
      { numRuns: 500 },
    );
  });

  it('reports the oneOf failure first, then the issues of the only admitted branch at their own paths', () => {
    const guarded = oneOf([
      {
        name: 'v1',
        schema: z.strictObject({ v: z.literal('1'), x: z.string() }),
        admits: (value) => field(value, 'v') === '1',
      },
      {
        name: 'v2',
        schema: z.strictObject({ v: z.literal('2'), y: z.string() }),
        admits: (value) => field(value, 'v') === '2',
      },
    ]);
    const result = validateWith(z.array(guarded), [{ v: '2', y: 3 }]);
    expect(result.ok ? [] : result.issues.map((issue) => [issue.path.join('/'), issue.code])).toEqual([
      ['0', 'custom'],
      ['0/y', 'invalid_type'],
    ]);
  });
});
