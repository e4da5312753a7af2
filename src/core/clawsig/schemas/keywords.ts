/**
 * JSON Schema keywords, expressed as zod building blocks that behave exactly like the reference
 * validator (Ajv 2020, `strict:false`, `allErrors:true`, ajv-formats full mode) does on JSON input.
 *
 * Why not zod's own `.min()`/`.int()`: Ajv measures string length in Unicode code points (a
 * surrogate pair is one character), while zod counts UTF-16 units; and `z.int()` stops at the
 * safe-integer range, while JSON Schema `integer` accepts any number without a fractional part.
 */
import { z } from 'zod';
import { isRfc3339DateTime } from '../rfc3339';
import { isJsonSchemaUri } from './uri-format';

/**
 * Length in code points, the way Ajv's `ucs2length` counts it: a high surrogate followed by a low
 * surrogate is one character; a lone surrogate is one character too.
 */
export function codePointLength(text: string): number {
  const units = text.length;
  let length = 0;
  let pos = 0;
  while (pos < units) {
    length++;
    const unit = text.charCodeAt(pos++);
    if (unit >= 0xd800 && unit <= 0xdbff && pos < units && (text.charCodeAt(pos) & 0xfc00) === 0xdc00) pos++;
  }
  return length;
}

export interface StringKeywords {
  minLength?: number;
  maxLength?: number;
  /** Compiled with the `u` flag, as Ajv does (`unicodeRegExp` defaults to true). Unanchored unless the source anchors. */
  pattern?: string;
  format?: 'date-time' | 'uri';
}

/**
 * The date-time shape almost every producer emits (`2026-02-12T18:00:00.000Z`), decided without
 * allocating; anything else goes to the full RFC 3339 rule. Both agree wherever this one answers.
 */
const CANONICAL_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z$/;
const DAYS_IN_MONTH = [0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function digits(text: string, start: number, count: number): number {
  let n = 0;
  for (let i = start; i < start + count; i++) n = n * 10 + (text.charCodeAt(i) - 48);
  return n;
}

function isCanonicalUtcDateTime(text: string): boolean {
  const month = digits(text, 5, 2);
  const day = digits(text, 8, 2);
  if (month < 1 || month > 12 || day < 1 || day > (DAYS_IN_MONTH[month] ?? 0)) return false;
  if (month === 2 && day === 29) {
    const year = digits(text, 0, 4);
    if (!(year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0))) return false;
  }
  const hour = digits(text, 11, 2);
  const minute = digits(text, 14, 2);
  const second = digits(text, 17, 2);
  if (hour <= 23 && minute <= 59 && second <= 59) return true;
  // A leap second exists only at 23:59:60 UTC.
  return hour === 23 && minute === 59 && second === 60;
}

export function isDateTime(text: string): boolean {
  return CANONICAL_UTC.test(text) ? isCanonicalUtcDateTime(text) : isRfc3339DateTime(text);
}

/**
 * `{type:"string", ...}`. One check runs every keyword, in Ajv's order (maxLength, minLength,
 * pattern, format), and reports each failure, as Ajv does with allErrors.
 */
export function jsonString(keywords: StringKeywords = {}): z.ZodString {
  const { minLength, maxLength, pattern, format } = keywords;
  if (minLength === undefined && maxLength === undefined && pattern === undefined && format === undefined)
    return z.string();
  const regex = pattern === undefined ? undefined : new RegExp(pattern, 'u');
  const formatTest = format === 'date-time' ? isDateTime : format === 'uri' ? isJsonSchemaUri : undefined;
  const formatName = format === 'date-time' ? 'datetime' : 'uri';
  return z.string().check((ctx) => {
    const text = ctx.value;
    // n UTF-16 units hold between ceil(n/2) and n code points: count only when that range straddles a bound.
    if (maxLength !== undefined && text.length > maxLength && codePointLength(text) > maxLength) {
      ctx.issues.push({
        code: 'too_big',
        origin: 'string',
        maximum: maxLength,
        inclusive: true,
        input: text,
        message: `must NOT have more than ${maxLength} characters`,
      });
    }
    if (minLength !== undefined && text.length < 2 * minLength && codePointLength(text) < minLength) {
      ctx.issues.push({
        code: 'too_small',
        origin: 'string',
        minimum: minLength,
        inclusive: true,
        input: text,
        message: `must NOT have fewer than ${minLength} characters`,
      });
    }
    if (regex !== undefined && !regex.test(text)) {
      ctx.issues.push({
        code: 'invalid_format',
        format: 'regex',
        pattern,
        input: text,
        message: `must match pattern "${pattern}"`,
      });
    }
    if (formatTest !== undefined && !formatTest(text)) {
      ctx.issues.push({
        code: 'invalid_format',
        format: formatName,
        input: text,
        message: `must match format "${format}"`,
      });
    }
  });
}

export interface NumberKeywords {
  minimum?: number;
  maximum?: number;
}

function withBounds(schema: z.ZodNumber, { minimum, maximum }: NumberKeywords): z.ZodNumber {
  let bounded = schema;
  if (maximum !== undefined) {
    bounded = bounded.check((ctx) => {
      if (ctx.value > maximum)
        ctx.issues.push({
          code: 'too_big',
          origin: 'number',
          maximum,
          inclusive: true,
          input: ctx.value,
          message: `must be <= ${maximum}`,
        });
    });
  }
  if (minimum !== undefined) {
    bounded = bounded.check((ctx) => {
      if (ctx.value < minimum)
        ctx.issues.push({
          code: 'too_small',
          origin: 'number',
          minimum,
          inclusive: true,
          input: ctx.value,
          message: `must be >= ${minimum}`,
        });
    });
  }
  return bounded;
}

/** `{type:"number"}`: any finite JSON number (JSON cannot carry NaN or Infinity). */
export function jsonNumber(keywords: NumberKeywords = {}): z.ZodNumber {
  return withBounds(z.number(), keywords);
}

/** `{type:"integer"}`: a number with no fractional part, of any magnitude (1e300 is an integer). */
export function jsonInteger(keywords: NumberKeywords = {}): z.ZodNumber {
  const integer = z.number().check((ctx) => {
    if (!Number.isInteger(ctx.value))
      ctx.issues.push({ code: 'invalid_type', expected: 'int', input: ctx.value, message: 'must be integer' });
  });
  return withBounds(integer, keywords);
}

/** The base64url shape used across the protocol: `pattern ^[A-Za-z0-9_-]+$` plus `minLength 8`. */
/** A string of at least one code point (`{type: string, minLength: 1}`). */
export function nonEmpty(): z.ZodString {
  return jsonString({ minLength: 1 });
}

export function b64u(minLength = 8): z.ZodString {
  return jsonString({ pattern: '^[A-Za-z0-9_-]+$', minLength });
}

/** `{type:"string", pattern:"^did:"}`: a prefix check only (any DID method, anything after it). */
export function didPrefixed(): z.ZodString {
  return jsonString({ pattern: '^did:' });
}

/** `{type:"string", format:"date-time"}`. */
export function dateTime(): z.ZodString {
  return jsonString({ format: 'date-time' });
}

/** `{type:"object"}` with nothing else: any JSON object, keys unchecked. */
export function anyObject() {
  return z.looseObject({});
}

/** `{type:"array", minItems?, maxItems?, items}`. */
export function jsonArray<T extends z.ZodType>(items: T, bounds: { minItems?: number; maxItems?: number } = {}) {
  let schema = z.array(items);
  if (bounds.maxItems !== undefined) schema = schema.max(bounds.maxItems);
  if (bounds.minItems !== undefined) schema = schema.min(bounds.minItems);
  return schema;
}

export function isObjectRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * An object-level rule (anyOf, if/then, maxProperties) that, like Ajv with `allErrors`, still runs
 * when a property failed: zod would otherwise skip it after an aborting child issue.
 */
export function objectRule(
  rule: (value: Record<string, unknown>, ctx: z.core.$RefinementCtx<Record<string, unknown>>) => void,
) {
  return z.superRefine<Record<string, unknown>>(rule, { when: (payload) => isObjectRecord(payload.value) });
}

/** `anyOf: [{required:[a]}, {required:[b]}, ...]` on an object: at least one of the keys is present. */
export function requireAnyOf(keys: readonly string[]) {
  return objectRule((value, ctx) => {
    if (!keys.some((key) => value[key] !== undefined)) {
      ctx.addIssue({
        code: 'custom',
        input: value,
        message: `must have at least one of: ${keys.join(', ')}`,
        params: { keyword: 'anyOf', keys: [...keys] },
      });
    }
  });
}

/** `maxProperties: n` on an object. */
export function maxProperties(limit: number) {
  return objectRule((value, ctx) => {
    if (Object.keys(value).length > limit) {
      ctx.addIssue({
        code: 'too_big',
        origin: 'object',
        maximum: limit,
        inclusive: true,
        input: value,
        message: `must NOT have more than ${limit} properties`,
      });
    }
  });
}

/**
 * `{type:"object", additionalProperties: <schema>}` with no declared properties: every own key's
 * value must match. Not `z.record`, which skips an own `"__proto__"` key (JSON.parse creates one
 * from `{"__proto__": ...}`) where Ajv validates it like any other key.
 */
export function jsonRecord<T extends z.ZodType>(values: T): z.ZodType<Record<string, z.output<T>>> {
  return z.custom<Record<string, z.output<T>>>().check((ctx) => {
    const value: unknown = ctx.value;
    if (!isObjectRecord(value)) {
      ctx.issues.push({ code: 'invalid_type', expected: 'record', input: value, message: 'must be object' });
      return;
    }
    for (const key of Object.keys(value)) {
      const result = values.safeParse(value[key]);
      if (!result.success)
        for (const issue of result.error.issues)
          ctx.issues.push({ ...issue, path: [key, ...issue.path], input: undefined } as z.core.$ZodRawIssue);
    }
  });
}

/** One `oneOf` branch. `admits` is a cheap test that MUST return false only when the branch would surely fail. */
export interface OneOfBranch<T extends z.ZodType = z.ZodType> {
  name: string;
  schema: T;
  admits: (value: unknown) => boolean;
}

/** Reads `value[key]` when `value` is a JSON object, else undefined. */
export function field(value: unknown, key: string): unknown {
  return isObjectRecord(value) ? value[key] : undefined;
}

/**
 * `oneOf`: valid when exactly one branch accepts the value. Every branch that `admits` the value is
 * run in full (so the count is exact); branches whose `admits` rejects it are known failures.
 * When nothing matches: one issue at the value, followed, when exactly one branch was admitted, by
 * that branch's issues with their own paths (that branch is clearly what the producer meant).
 */
export function oneOf<const B extends readonly OneOfBranch[]>(branches: B): z.ZodType<z.output<B[number]['schema']>> {
  const names = branches.map((branch) => branch.name).join(', ');
  return z.custom<z.output<B[number]['schema']>>().check((ctx) => {
    const value: unknown = ctx.value;
    let matches = 0;
    let admitted = 0;
    let lastFailure: readonly z.core.$ZodIssue[] = [];
    for (const branch of branches) {
      if (!branch.admits(value)) continue;
      admitted++;
      const result = branch.schema.safeParse(value);
      if (result.success) matches++;
      else lastFailure = result.error.issues;
    }
    if (matches === 1) return;
    if (matches > 1) {
      ctx.issues.push({
        code: 'custom',
        input: value,
        message: `must match exactly one of: ${names} (matched ${matches})`,
        params: { keyword: 'oneOf' },
      });
      return;
    }
    // The oneOf issue comes first: Ajv reports the first branch's errors first, and those never
    // name the admitted branch's fields, so a caller classifying issues[0] must not see them either.
    ctx.issues.push({
      code: 'custom',
      input: value,
      message: `must match exactly one of: ${names}`,
      params: { keyword: 'oneOf' },
    });
    if (admitted === 1)
      for (const issue of lastFailure) ctx.issues.push({ ...issue, input: undefined } as z.core.$ZodRawIssue);
  });
}
