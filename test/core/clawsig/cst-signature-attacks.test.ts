import { createHmac } from 'node:crypto';
import { encodeB64u } from '../../../src/core/clawsig/base64url';
import type { JsonObject } from '../../../src/core/clawsig/json';
import { verifyCstSignature, verifyCstSignatures } from '../../../src/core/clawsig/cst-signature';
import { cstKeyId } from '../../../src/core/clawsig/scoped-token';
import { evaluate, verifyAndEvaluate, type EvaluationInput } from '../../../src/core/verdict';
import { createTestKey, makeScenario, scenarioEvaluationInput, signCst, type TestKey } from '../../../src/testkit';

/**
 * The CST's signature is verified with jose before the engine runs (src/core/clawsig/cst-signature.ts);
 * these are the ways an agent would try to get a token it did not get from the issuer accepted.
 */
const WORK = 'a'.repeat(40);
const NOW = Date.UTC(2026, 10, 25, 13, 0, 0);
const issuer = createTestKey();
const other = createTestKey();
const claims: JsonObject = {
  token_version: '1',
  sub: 'did:key:z6Mkagent',
  aud: 'clawproxy',
  scope: ['llm:call'],
  iat: 1,
  exp: 2,
};

const b64json = (value: unknown): string => encodeB64u(Buffer.from(JSON.stringify(value)));
/** A compact JWS with any header, signed by `key` over "<header>.<payload>" with Ed25519. */
function signWith(header: JsonObject, payload: JsonObject, key: TestKey): string {
  const signingInput = `${b64json(header)}.${b64json(payload)}`;
  return `${signingInput}.${key.signB64u(signingInput)}`;
}
const issuers = [{ publicKeyB64u: issuer.publicKeyB64u }];

describe('CST signature (jose, EdDSA only)', () => {
  it('a token the configured issuer signed verifies; the same token against another key does not', async () => {
    const token = signCst(claims, issuer);
    expect(await verifyCstSignature(token, issuers)).toBe(true);
    expect(await verifyCstSignature(token, [{ publicKeyB64u: other.publicKeyB64u }])).toBe(false);
    expect(await verifyCstSignature(signCst(claims, other), issuers)).toBe(false);
  });

  it('alg none with an empty signature is refused', async () => {
    const unsecured = `${b64json({ alg: 'none', typ: 'JWT' })}.${b64json(claims)}.`;
    expect(await verifyCstSignature(unsecured, issuers)).toBe(false);
    // "none" signed anyway with the issuer's real key: the algorithm, not only the signature, is checked.
    expect(await verifyCstSignature(signWith({ alg: 'none' }, claims, issuer), issuers)).toBe(false);
  });

  it('HS256 keyed with the issuer public key (algorithm confusion) is refused', async () => {
    for (const secret of [Buffer.from(issuer.publicKeyB64u), Buffer.from(issuer.publicKey)]) {
      const signingInput = `${b64json({ alg: 'HS256', typ: 'JWT' })}.${b64json(claims)}`;
      const mac = createHmac('sha256', secret).update(signingInput).digest('base64url');
      expect(await verifyCstSignature(`${signingInput}.${mac}`, issuers)).toBe(false);
    }
  });

  it('only "EdDSA": the same Ed25519 signature under another alg name is refused', async () => {
    for (const alg of ['Ed25519', 'ES256', 'RS256', 'eddsa'])
      expect(await verifyCstSignature(signWith({ alg }, claims, issuer), issuers)).toBe(false);
  });

  it('a tampered payload or header fails under the original signature', async () => {
    const token = signCst(claims, issuer);
    const [h, , s] = token.split('.');
    const widened = b64json({ ...claims, scope: ['llm:call', 'repo:write'] });
    expect(await verifyCstSignature(`${h}.${widened}.${s}`, issuers)).toBe(false);
    const newHeader = b64json({ alg: 'EdDSA', typ: 'JWT', kid: 'other' });
    const [, p] = token.split('.');
    expect(await verifyCstSignature(`${newHeader}.${p}.${s}`, issuers)).toBe(false);
    // A flipped signature byte and a truncated signature.
    const sig = Buffer.from(s ?? '', 'base64url');
    sig[0] = (sig[0] ?? 0) ^ 1;
    expect(await verifyCstSignature(`${h}.${p}.${sig.toString('base64url')}`, issuers)).toBe(false);
    expect(await verifyCstSignature(`${h}.${p}.${(s ?? '').slice(0, 40)}`, issuers)).toBe(false);
  });

  it('kid games: a kid narrows to keys with that kid (or none); naming a trusted kid does not lend its trust', async () => {
    const keyed = [
      { kid: 'trusted', publicKeyB64u: issuer.publicKeyB64u },
      { kid: 'second', publicKeyB64u: other.publicKeyB64u },
    ];
    // Signed by `other`, header names the kid of `issuer`: only issuer's key is tried, and it fails.
    expect(await verifyCstSignature(signWith({ alg: 'EdDSA', kid: 'trusted' }, claims, other), keyed)).toBe(false);
    // Right key, right kid; right key under its own kid; a kid that names no key.
    expect(await verifyCstSignature(signWith({ alg: 'EdDSA', kid: 'trusted' }, claims, issuer), keyed)).toBe(true);
    expect(await verifyCstSignature(signWith({ alg: 'EdDSA', kid: 'second' }, claims, other), keyed)).toBe(true);
    expect(await verifyCstSignature(signWith({ alg: 'EdDSA', kid: 'nobody' }, claims, issuer), keyed)).toBe(false);
    // No kid in the header: every configured key is a candidate.
    expect(await verifyCstSignature(signWith({ alg: 'EdDSA' }, claims, other), keyed)).toBe(true);
    // A key configured without a kid verifies under any kid (as the issuer's computed kid may differ).
    expect(
      await verifyCstSignature(signWith({ alg: 'EdDSA', kid: cstKeyId(other.publicKey) }, claims, issuer), issuers),
    ).toBe(true);
    // A non-string kid narrows nothing and lends nothing.
    expect(
      await verifyCstSignature(signWith({ alg: 'EdDSA', kid: { $ref: 'trusted' } }, claims, other), keyed.slice(0, 1)),
    ).toBe(false);
  });

  it('critical header parameters and b64=false are refused; malformed tokens and unusable keys never throw', async () => {
    expect(await verifyCstSignature(signWith({ alg: 'EdDSA', crit: ['exp'], exp: 1 }, claims, issuer), issuers)).toBe(
      false,
    );
    expect(
      await verifyCstSignature(signWith({ alg: 'EdDSA', b64: false, crit: ['b64'] }, claims, issuer), issuers),
    ).toBe(false);
    for (const junk of [
      '',
      '.',
      'a.b',
      'a.b.c.d',
      '!!.!!.!!',
      `${b64json('x')}.${b64json(claims)}.AAAA`,
      'x'.repeat(100_000),
    ]) {
      expect(await verifyCstSignature(junk, issuers)).toBe(false);
    }
    const token = signCst(claims, issuer);
    expect(
      await verifyCstSignature(token, [
        { publicKeyB64u: 'not-base64url!' },
        { publicKeyB64u: encodeB64u(new Uint8Array(31)) },
        ...issuers,
      ]),
    ).toBe(true);
    expect(await verifyCstSignature(token, [])).toBe(false);
  });
});

describe('the engine and the verification result', () => {
  const scenario = makeScenario({ workspace: 'acme', repoSlug: 'proj-web', commit: WORK });
  const input: EvaluationInput = scenarioEvaluationInput(scenario, {
    workspace: 'acme',
    repoSlug: 'proj-web',
    workCommit: WORK,
    nowMs: NOW,
  });
  const cstCheck = (checks: { rule: string }[]) => checks.find((c) => c.rule === 'profile.cst_signature');

  it('with the signature verified first, the scenario passes', async () => {
    const verdict = await verifyAndEvaluate(input);
    expect(verdict.state).toBe('PASS');
    expect(verdict.token?.signatureVerified).toBe(true);
  });

  it('the synchronous engine without a verification result fails closed, never passes', () => {
    const verdict = evaluate(input);
    expect(verdict.state).toBe('FAIL');
    expect(verdict.reasonCode).toBe('CST_SIGNATURE_INVALID');
    expect(cstCheck(verdict.checks)).toMatchObject({ outcome: 'fail', evidence: { reason: 'not_verified' } });
    expect(verdict.token?.signatureVerified).toBe(false);
  });

  it('a result for another token does not count: the engine matches the exact compact token', () => {
    const forged = signCst({ ...scenario.cstClaims }, other);
    const verdict = evaluate({
      ...input,
      scopedToken: forged,
      cstSignatures: [{ compact: scenario.cst, verified: true }],
    });
    expect(verdict.reasonCode).toBe('CST_SIGNATURE_INVALID');
  });

  it('a caller-supplied "verified" result is replaced by verifyAndEvaluate, not trusted', async () => {
    const forged = signCst({ ...scenario.cstClaims }, other);
    const verdict = await verifyAndEvaluate({
      ...input,
      scopedToken: forged,
      cstSignatures: [{ compact: forged, verified: true }],
    });
    expect(verdict.reasonCode).toBe('CST_SIGNATURE_INVALID');
    expect(verdict.token?.signatureVerified).toBe(false);
  });

  it('verifies the token of the bundle metadata and the caller token, trimmed, and nothing without issuer keys', async () => {
    const results = await verifyCstSignatures({ ...input, scopedToken: `  ${scenario.cst}\n` });
    expect(results).toEqual([{ compact: scenario.cst, verified: true }]);
    expect(await verifyCstSignatures({ ...input, settings: { ...input.settings, cstIssuers: [] } })).toEqual([]);
  });
});
