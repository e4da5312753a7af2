import type { ReasonCode } from '../reason-codes';
import { isJsonObject, type JsonObject } from './json';
import { CAUSAL_PHASES } from './schemas/receipt-binding';
import { parseTimestamp } from './rfc3339';

/**
 * The causal-binding rules of the reference core (clawverify-core `verify-proof-bundle.ts`, run by
 * default since its causal suites became core/service parity checks). Written from
 * the reference's behaviour, in its order and with its reason codes; no library does this.
 *
 * A gateway receipt's `binding` may declare a span (`span_id`), its parent (`parent_span_id`), the
 * tool span it ran under (`tool_span_id`), a `phase` and an `attribution_confidence`; each id also
 * has a camelCase spelling. Side-effect and human-approval receipts must hang off a declared span.
 */

export type CausalFailure = { code: ReasonCode; path: string };

/** One gateway receipt binding that carries at least one causal field. */
export interface CausalEntry {
  path: string;
  spanId?: string;
  spanPath: string;
  parentSpanId?: string;
  parentPath: string;
  toolSpanId?: string;
  toolPath: string;
  phase?: unknown;
  phasePath: string;
  confidence?: number;
  confidencePath: string;
  /** The receipt payload's `timestamp` and its envelope's `issued_at`, as found. */
  timestamp?: unknown;
  timestampPath: string;
  issuedAt?: unknown;
  issuedAtPath: string;
}

const PHASES: ReadonlySet<unknown> = new Set(CAUSAL_PHASES);

/** Which phase may follow which, parent to child. */
const PHASE_SUCCESSORS: Readonly<Record<string, ReadonlySet<string>>> = {
  setup: new Set(['setup', 'planning']),
  planning: new Set(['planning', 'reasoning', 'execution']),
  reasoning: new Set(['reasoning', 'execution', 'observation']),
  execution: new Set(['execution', 'observation', 'reflection', 'teardown']),
  observation: new Set(['observation', 'reflection', 'teardown']),
  reflection: new Set(['reflection', 'teardown']),
  teardown: new Set(['teardown']),
};

const CAUSAL_KEYS = [
  'span_id',
  'spanId',
  'parent_span_id',
  'parentSpanId',
  'tool_span_id',
  'toolSpanId',
  'phase',
  'attribution_confidence',
  'attributionConfidence',
];

function has(record: JsonObject, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(record, key);
}

type Field<T> = { ok: true; value?: T; path: string } | { ok: false; failure: CausalFailure };

/**
 * Reads one field that has a snake_case and a camelCase spelling: each present spelling must parse
 * (ids: a string that is not blank once trimmed; numbers: finite), and when both are present they
 * must agree after normalization.
 */
function dualField<T>(
  binding: JsonObject,
  base: string,
  snake: string,
  camel: string,
  parse: (raw: unknown) => T | undefined,
): Field<T> {
  const snakePath = `${base}.${snake}`;
  const camelPath = `${base}.${camel}`;
  let snakeValue: T | undefined;
  let camelValue: T | undefined;
  if (has(binding, snake)) {
    snakeValue = parse(binding[snake]);
    if (snakeValue === undefined)
      return { ok: false, failure: { code: 'CAUSAL_BINDING_NORMALIZATION_FAILED', path: snakePath } };
  }
  if (has(binding, camel)) {
    camelValue = parse(binding[camel]);
    if (camelValue === undefined)
      return { ok: false, failure: { code: 'CAUSAL_BINDING_NORMALIZATION_FAILED', path: camelPath } };
  }
  if (snakeValue !== undefined && camelValue !== undefined && !Object.is(snakeValue, camelValue)) {
    return { ok: false, failure: { code: 'CAUSAL_BINDING_FIELD_CONFLICT', path: snakePath } };
  }
  if (snakeValue !== undefined) return { ok: true, value: snakeValue, path: snakePath };
  if (camelValue !== undefined) return { ok: true, value: camelValue, path: camelPath };
  return { ok: true, path: snakePath };
}

const spanIdOf = (raw: unknown): string | undefined =>
  typeof raw === 'string' && raw.trim().length > 0 ? raw.trim() : undefined;
const finiteOf = (raw: unknown): number | undefined =>
  typeof raw === 'number' && Number.isFinite(raw) ? raw : undefined;

interface SpanIds {
  span: Field<string> & { ok: true };
  parent: Field<string> & { ok: true };
  tool: Field<string> & { ok: true };
}

function readSpanIds(binding: JsonObject, base: string): SpanIds | CausalFailure {
  const span = dualField(binding, base, 'span_id', 'spanId', spanIdOf);
  if (!span.ok) return span.failure;
  const parent = dualField(binding, base, 'parent_span_id', 'parentSpanId', spanIdOf);
  if (!parent.ok) return parent.failure;
  const tool = dualField(binding, base, 'tool_span_id', 'toolSpanId', spanIdOf);
  if (!tool.ok) return tool.failure;
  return { span, parent, tool };
}

function isFailure(value: SpanIds | CausalFailure): value is CausalFailure {
  return 'code' in value;
}

/** Normalizes the causal fields of every gateway receipt binding, in receipt order. */
export function collectCausalEntries(
  receipts: readonly unknown[],
): { entries: CausalEntry[] } | { failure: CausalFailure } {
  const entries: CausalEntry[] = [];
  for (let i = 0; i < receipts.length; i++) {
    const envelope = receipts[i];
    const payload = isJsonObject(envelope) && isJsonObject(envelope.payload) ? envelope.payload : undefined;
    const binding = payload && isJsonObject(payload.binding) ? payload.binding : undefined;
    if (!payload || !binding || !CAUSAL_KEYS.some((key) => has(binding, key))) continue;
    const base = `payload.receipts[${i}].payload.binding`;
    const ids = readSpanIds(binding, base);
    if (isFailure(ids)) return { failure: ids };
    const confidence = dualField(binding, base, 'attribution_confidence', 'attributionConfidence', finiteOf);
    if (!confidence.ok) return { failure: confidence.failure };
    entries.push({
      path: base,
      spanId: ids.span.value,
      spanPath: ids.span.path,
      parentSpanId: ids.parent.value,
      parentPath: ids.parent.path,
      toolSpanId: ids.tool.value,
      toolPath: ids.tool.path,
      phase: binding.phase,
      phasePath: `${base}.phase`,
      confidence: confidence.value,
      confidencePath: confidence.path,
      timestamp: payload.timestamp,
      timestampPath: `payload.receipts[${i}].payload.timestamp`,
      issuedAt: isJsonObject(envelope) ? envelope.issued_at : undefined,
      issuedAtPath: `payload.receipts[${i}].issued_at`,
    });
  }
  return { entries };
}

interface SpanSemantics {
  parentSpanId?: string;
  toolSpanId?: string;
  phase?: string;
  phasePath: string;
  confidence?: number;
  spanPath: string;
  timeMs?: number;
  timePath: string;
}

/** Per-entry rules: clock against the envelope, phase name, confidence range, dangling references. */
function checkEntries(entries: readonly CausalEntry[], known: ReadonlySet<string>): CausalFailure | null {
  for (const entry of entries) {
    const timestampMs = entry.timestamp === undefined ? undefined : parseTimestamp(entry.timestamp);
    const issuedAtMs = entry.issuedAt === undefined ? undefined : parseTimestamp(entry.issuedAt);
    if (timestampMs === null) return { code: 'CAUSAL_CLOCK_CONTRADICTION', path: entry.timestampPath };
    if (issuedAtMs === null) return { code: 'CAUSAL_CLOCK_CONTRADICTION', path: entry.issuedAtPath };
    // A gateway cannot have signed a receipt before the call it records happened.
    if (timestampMs !== undefined && issuedAtMs !== undefined && timestampMs > issuedAtMs) {
      return { code: 'CAUSAL_CLOCK_CONTRADICTION', path: entry.timestampPath };
    }
    if (entry.phase !== undefined && !PHASES.has(entry.phase))
      return { code: 'CAUSAL_PHASE_INVALID', path: entry.phasePath };
    if (entry.confidence !== undefined && !(entry.confidence >= 0 && entry.confidence <= 1)) {
      return { code: 'CAUSAL_CONFIDENCE_OUT_OF_RANGE', path: entry.confidencePath };
    }
    if (entry.parentSpanId !== undefined && !known.has(entry.parentSpanId))
      return { code: 'CAUSAL_REFERENCE_DANGLING', path: entry.parentPath };
    if (entry.toolSpanId !== undefined && !known.has(entry.toolSpanId))
      return { code: 'CAUSAL_REFERENCE_DANGLING', path: entry.toolPath };
  }
  return null;
}

/** A span id declared by several receipts must mean the same thing each time. */
function spanSemantics(
  entries: readonly CausalEntry[],
): { spans: Map<string, SpanSemantics> } | { failure: CausalFailure } {
  const spans = new Map<string, SpanSemantics>();
  for (const entry of entries) {
    if (entry.spanId === undefined) continue;
    const phase = typeof entry.phase === 'string' ? entry.phase : undefined;
    const timestampMs =
      typeof entry.timestamp === 'string' ? (parseTimestamp(entry.timestamp) ?? undefined) : undefined;
    const issuedAtMs = typeof entry.issuedAt === 'string' ? (parseTimestamp(entry.issuedAt) ?? undefined) : undefined;
    const timeMs = timestampMs ?? issuedAtMs;
    const timePath = timestampMs !== undefined ? entry.timestampPath : entry.issuedAtPath;
    const previous = spans.get(entry.spanId);
    if (!previous) {
      spans.set(entry.spanId, {
        parentSpanId: entry.parentSpanId,
        toolSpanId: entry.toolSpanId,
        phase,
        phasePath: entry.phasePath,
        confidence: entry.confidence,
        spanPath: entry.spanPath,
        timeMs,
        timePath,
      });
      continue;
    }
    const differs = <T>(a: T | undefined, b: T | undefined) => a !== undefined && b !== undefined && !Object.is(a, b);
    const conflict =
      differs(previous.parentSpanId, entry.parentSpanId) ||
      differs(previous.toolSpanId, entry.toolSpanId) ||
      differs(previous.phase, phase) ||
      differs(previous.confidence, entry.confidence);
    if (differs(previous.timeMs, timeMs)) return { failure: { code: 'CAUSAL_CLOCK_CONTRADICTION', path: timePath } };
    if (conflict) return { failure: { code: 'CAUSAL_SPAN_REUSE_CONFLICT', path: entry.spanPath } };
  }
  return { spans };
}

/** A child may not happen before its parent (or tool span), nor move to a phase that cannot follow. */
function checkOrderAndPhases(spans: ReadonlyMap<string, SpanSemantics>): CausalFailure | null {
  for (const child of spans.values()) {
    for (const parentId of [child.parentSpanId, child.toolSpanId]) {
      const parent = parentId === undefined ? undefined : spans.get(parentId);
      if (!parent) continue;
      if (child.timeMs !== undefined && parent.timeMs !== undefined && child.timeMs < parent.timeMs) {
        return { code: 'CAUSAL_CLOCK_CONTRADICTION', path: child.timePath };
      }
      if (
        child.phase !== undefined &&
        parent.phase !== undefined &&
        !PHASE_SUCCESSORS[parent.phase]?.has(child.phase)
      ) {
        return { code: 'CAUSAL_PHASE_TRANSITION_INVALID', path: child.phasePath };
      }
    }
  }
  return null;
}

/** parent_span_id links must not loop (the first parent declared for a span counts). */
function findCycle(entries: readonly CausalEntry[]): CausalFailure | null {
  const parentOf = new Map<string, { parent: string; path: string }>();
  for (const entry of entries) {
    if (entry.spanId !== undefined && entry.parentSpanId !== undefined && !parentOf.has(entry.spanId)) {
      parentOf.set(entry.spanId, { parent: entry.parentSpanId, path: entry.parentPath });
    }
  }
  const done = new Set<string>();
  for (const start of parentOf.keys()) {
    // Walk up iteratively (the chain can be as long as the receipts: no recursion depth limit).
    const onPath = new Set<string>();
    let current: string | undefined = start;
    while (current !== undefined && !done.has(current)) {
      if (onPath.has(current)) return { code: 'CAUSAL_CYCLE_DETECTED', path: parentOf.get(current)?.path ?? 'payload' };
      onPath.add(current);
      current = parentOf.get(current)?.parent;
    }
    for (const id of onPath) done.add(id);
  }
  return null;
}

/**
 * A confidence claim needs evidence: 1.0 only for a span with provable direct lineage (it names a
 * parent or tool span, or another span names it), at most 0.5 for a bare span, 0 without a span.
 */
function checkConfidenceEvidence(entries: readonly CausalEntry[]): CausalFailure | null {
  const referenced = new Set<string>();
  for (const entry of entries) {
    if (entry.parentSpanId !== undefined) referenced.add(entry.parentSpanId);
    if (entry.toolSpanId !== undefined) referenced.add(entry.toolSpanId);
  }
  for (const entry of entries) {
    if (entry.confidence === undefined) continue;
    const direct =
      entry.parentSpanId !== undefined ||
      entry.toolSpanId !== undefined ||
      (entry.spanId !== undefined && referenced.has(entry.spanId));
    const max = direct ? 1 : entry.spanId !== undefined ? 0.5 : 0;
    if (entry.confidence > max) return { code: 'CAUSAL_CONFIDENCE_EVIDENCE_INCONSISTENT', path: entry.confidencePath };
  }
  return null;
}

/** Enforce-mode connectivity: at least one root, every span reaches a root, one connected graph. */
function checkConnectivity(entries: readonly CausalEntry[]): CausalFailure | null {
  const spans = new Map<string, { parent?: string; tool?: string; path: string }>();
  for (const entry of entries) {
    if (entry.spanId !== undefined && !spans.has(entry.spanId))
      spans.set(entry.spanId, { parent: entry.parentSpanId, tool: entry.toolSpanId, path: entry.spanPath });
  }
  if (spans.size === 0) return null;
  const roots = new Set([...spans].filter(([, s]) => s.parent === undefined && s.tool === undefined).map(([id]) => id));
  if (roots.size === 0)
    return { code: 'CAUSAL_GRAPH_DISCONNECTED', path: spans.values().next().value?.path ?? 'payload' };

  // Reaching a root: iterate to a fixed point (no recursion; cycles were rejected before).
  const reaches = new Set(roots);
  for (let changed = true; changed;) {
    changed = false;
    for (const [id, span] of spans) {
      if (reaches.has(id)) continue;
      if (
        (span.parent !== undefined && reaches.has(span.parent)) ||
        (span.tool !== undefined && reaches.has(span.tool))
      ) {
        reaches.add(id);
        changed = true;
      }
    }
  }
  for (const [id, span] of spans) if (!reaches.has(id)) return { code: 'CAUSAL_GRAPH_DISCONNECTED', path: span.path };

  const neighbours = new Map<string, Set<string>>([...spans.keys()].map((id) => [id, new Set<string>()]));
  for (const [id, span] of spans) {
    for (const other of [span.parent, span.tool]) {
      if (other !== undefined && spans.has(other)) {
        neighbours.get(id)?.add(other);
        neighbours.get(other)?.add(id);
      }
    }
  }
  const first = spans.keys().next().value as string;
  const seen = new Set<string>();
  const stack = [first];
  while (stack.length > 0) {
    const id = stack.pop() as string;
    if (seen.has(id)) continue;
    seen.add(id);
    for (const next of neighbours.get(id) ?? []) if (!seen.has(next)) stack.push(next);
  }
  for (const [id, span] of spans) if (!seen.has(id)) return { code: 'CAUSAL_GRAPH_DISCONNECTED', path: span.path };
  return null;
}

/**
 * The causal graph checks in the reference's order. clawgate always runs them in the reference's
 * `strict` profile (connectivity `enforce`): nobody can configure a weaker mode.
 * Returns the declared span ids, which side effects and approvals must anchor to.
 */
export function checkCausalGraph(
  entries: readonly CausalEntry[],
): { spanIds: ReadonlySet<string> } | { failure: CausalFailure } {
  const known = new Set<string>();
  for (const entry of entries) if (entry.spanId !== undefined) known.add(entry.spanId);
  if (entries.length === 0) return { spanIds: known };
  const perEntry = checkEntries(entries, known);
  if (perEntry) return { failure: perEntry };
  const semantics = spanSemantics(entries);
  if ('failure' in semantics) return semantics;
  const failure =
    checkOrderAndPhases(semantics.spans) ??
    findCycle(entries) ??
    checkConfidenceEvidence(entries) ??
    checkConnectivity(entries);
  return failure ? { failure } : { spanIds: known };
}

/**
 * Side-effect and human-approval receipts must be anchored to a declared span: their binding's
 * `tool_span_id`, else `parent_span_id`, else `span_id` (each normalized as above).
 */
export function checkAnchoring(
  kind: 'side_effect' | 'human_approval',
  entries: readonly unknown[],
  spanIds: ReadonlySet<string>,
): CausalFailure | null {
  const orphan: ReasonCode = kind === 'side_effect' ? 'CAUSAL_SIDE_EFFECT_ORPHANED' : 'CAUSAL_HUMAN_APPROVAL_ORPHANED';
  const prefix = kind === 'side_effect' ? 'payload.side_effect_receipts' : 'payload.human_approval_receipts';
  for (let i = 0; i < entries.length; i++) {
    const receipt = entries[i];
    if (!isJsonObject(receipt)) return { code: orphan, path: `${prefix}[${i}]` };
    if (!isJsonObject(receipt.binding)) return { code: orphan, path: `${prefix}[${i}].binding` };
    const ids = readSpanIds(receipt.binding, `${prefix}[${i}].binding`);
    if (isFailure(ids)) return ids;
    const anchor = ids.tool.value ?? ids.parent.value ?? ids.span.value;
    if (anchor === undefined || !spanIds.has(anchor)) {
      const at =
        ids.tool.value !== undefined ? ids.tool.path : ids.parent.value !== undefined ? ids.parent.path : ids.span.path;
      return { code: orphan, path: at };
    }
  }
  return null;
}

/** The anchor span a side-effect or approval receipt names (for display), if any. */
export function anchorSpanOf(binding: unknown): string | undefined {
  if (!isJsonObject(binding)) return undefined;
  const ids = readSpanIds(binding, '');
  if (isFailure(ids)) return undefined;
  return ids.tool.value ?? ids.parent.value ?? ids.span.value;
}
