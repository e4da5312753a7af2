import type { WpcPolicyStatement } from '../clawsig/schemas';
import { clawsigGlobMatch } from './clawsig-glob';

/**
 * Official WPC v2 statements (IAM style) evaluated over clawgate's Bitbucket action vocabulary
 * (docs/clawsig-profile.md, "WPC v2 on Bitbucket"). The reference evaluator's semantics
 * (statement applies when an action pattern, a resource pattern and every condition
 * match; explicit Deny wins; default deny; Clawsig globs), with its fail-open cases closed:
 *
 * - a condition whose context key clawgate cannot resolve, or whose operator it does not know, is
 *   "unknown": an Allow with an unknown condition does not apply; a Deny with one DOES apply
 *   (the reference lets such Denies lapse);
 * - `StringNotEquals` / `StringNotLike` on a missing key are unknown, not true (the reference
 *   makes them true, so an Allow guarded by them applied to everything);
 * - `inherits` is refused when the policy is parsed (wpc-forms.ts).
 * Written by hand: the evaluator is the protocol's rule set, with clawgate's fail-closed changes.
 */

export type WpcContext = Readonly<Record<string, string | undefined>>;

export interface WpcRequest {
  action: string;
  resource: string;
  context: WpcContext;
}

export interface WpcDecision {
  decision: 'ALLOW' | 'DENY';
  /** explicit_deny | allowed | no_allow (default deny). */
  reason: 'explicit_deny' | 'allowed' | 'no_allow';
  /** The statement that decided (the first applicable Deny, else the first applicable Allow). */
  sid?: string;
}

type Truth = 'true' | 'false' | 'unknown';

function ipv4ToNumber(text: string): number | null {
  const parts = text.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) return null;
  return parts.reduce((acc, p) => acc * 256 + Number(p), 0);
}

function inCidr(ip: string, cidr: string): Truth {
  const [base, bitsText] = cidr.split('/');
  const addr = ipv4ToNumber(ip);
  const net = base === undefined ? null : ipv4ToNumber(base);
  const bits = bitsText === undefined ? 32 : Number(bitsText);
  if (addr === null || net === null || !Number.isInteger(bits) || bits < 0 || bits > 32) return 'unknown';
  const size = 2 ** (32 - bits);
  return Math.floor(addr / size) === Math.floor(net / size) ? 'true' : 'false';
}

function truthOf(condition: boolean): Truth {
  return condition ? 'true' : 'false';
}

function evaluateOperator(operator: string, actual: string | undefined, expected: string): Truth {
  if (actual === undefined) return 'unknown';
  switch (operator) {
    case 'StringEquals':
      return truthOf(actual === expected);
    case 'StringNotEquals':
      return truthOf(actual !== expected);
    case 'StringLike':
      return truthOf(clawsigGlobMatch(expected, actual));
    case 'StringNotLike':
      return truthOf(!clawsigGlobMatch(expected, actual));
    case 'NumericEquals':
    case 'NumericLessThan':
    case 'NumericGreaterThan': {
      const a = Number.parseFloat(actual);
      const b = Number.parseFloat(expected);
      if (!Number.isFinite(a) || !Number.isFinite(b)) return 'unknown';
      return truthOf(operator === 'NumericEquals' ? a === b : operator === 'NumericLessThan' ? a < b : a > b);
    }
    case 'Bool':
      return truthOf(actual.toLowerCase() === expected.toLowerCase());
    case 'IpAddress':
      return inCidr(actual, expected);
    default:
      return 'unknown';
  }
}

/** All conditions ANDed: false if any is false, else unknown if any is unknown, else true. */
function conditionsTruth(statement: WpcPolicyStatement, context: WpcContext): Truth {
  let result: Truth = 'true';
  for (const [operator, map] of Object.entries(statement.conditions ?? {})) {
    if (map === undefined) continue;
    for (const [key, expected] of Object.entries(map)) {
      const truth = evaluateOperator(
        operator,
        Object.prototype.hasOwnProperty.call(context, key) ? context[key] : undefined,
        expected,
      );
      if (truth === 'false') return 'false';
      if (truth === 'unknown') result = 'unknown';
    }
  }
  return result;
}

function matchesAny(patterns: readonly string[], value: string): boolean {
  return patterns.some((pattern) => clawsigGlobMatch(pattern, value));
}

/** The decision for one request. */
export function evaluateStatements(statements: readonly WpcPolicyStatement[], request: WpcRequest): WpcDecision {
  let allow: string | undefined;
  for (const statement of statements) {
    if (!matchesAny(statement.actions, request.action) || !matchesAny(statement.resources, request.resource)) continue;
    const truth = conditionsTruth(statement, request.context);
    if (statement.effect === 'Deny' && truth !== 'false')
      return { decision: 'DENY', reason: 'explicit_deny', sid: statement.sid };
    if (statement.effect === 'Allow' && truth === 'true' && allow === undefined) allow = statement.sid;
  }
  return allow !== undefined
    ? { decision: 'ALLOW', reason: 'allowed', sid: allow }
    : { decision: 'DENY', reason: 'no_allow' };
}

/** Action namespaces clawgate evaluates on Bitbucket; statements naming only others are reported as not enforceable. */
export const EVALUATED_ACTION_PREFIXES = ['bitbucket:', 'model:'] as const;

/** True when some action pattern of the statement could name an action clawgate evaluates. */
export function statementIsEvaluated(statement: WpcPolicyStatement): boolean {
  return statement.actions.some(
    (pattern) =>
      pattern === '*' ||
      pattern === '**' ||
      EVALUATED_ACTION_PREFIXES.some(
        (prefix) => pattern.startsWith(prefix) || prefix.startsWith(pattern.replace(/\*+$/, '')),
      ),
  );
}
