import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { hubSignature, isWellFormedHubSignature, verifyHubSignature } from '../../src/webhooks/hub-signature';
import { sharedPath } from '../shared-data';

/**
 * The real vector: a Bitbucket `repo:push` delivery captured by the Jenkins Bitbucket plugin, with the
 * X-Hub-Signature Bitbucket sent and the hook's secret (../shared/bitbucket-fixtures/SOURCES.md).
 */
const RAW_BODY = readFileSync(sharedPath('bitbucket-fixtures', 'jenkins-bbs', 'repo_push_signed_payload.json'));
const SECRET = 'Gkvl$k$wyNpQAF42';
const SIGNATURE = 'sha256=f205c729821c6954aff2afe72b965c34015b4baf96ea8ddc2cc44999c014a035';

describe('verifyHubSignature', () => {
  test('accepts the real Bitbucket delivery with its real signature', () => {
    expect(verifyHubSignature(RAW_BODY, SIGNATURE, SECRET)).toBe(true);
    expect(hubSignature(RAW_BODY, SECRET)).toBe(SIGNATURE);
  });

  test('uppercase hex is the same digest', () => {
    expect(verifyHubSignature(RAW_BODY, `sha256=${SIGNATURE.slice(7).toUpperCase()}`, SECRET)).toBe(true);
  });

  test('refuses the real signature over a body that differs in one byte, or re-serialised JSON', () => {
    const tampered = Buffer.from(RAW_BODY);
    tampered[10] = (tampered[10] ?? 0) ^ 0x01;
    expect(verifyHubSignature(tampered, SIGNATURE, SECRET)).toBe(false);
    const reserialised = Buffer.from(JSON.stringify(JSON.parse(RAW_BODY.toString('utf8')), null, 1));
    expect(verifyHubSignature(reserialised, SIGNATURE, SECRET)).toBe(false);
    expect(verifyHubSignature(Buffer.concat([RAW_BODY, Buffer.from('\n')]), SIGNATURE, SECRET)).toBe(false);
  });

  test('refuses another secret, an empty secret, and a secret that is a prefix', () => {
    expect(verifyHubSignature(RAW_BODY, SIGNATURE, 'Gkvl$k$wyNpQAF43')).toBe(false);
    expect(verifyHubSignature(RAW_BODY, SIGNATURE, 'Gkvl$k$wyNpQAF4')).toBe(false);
    expect(verifyHubSignature(RAW_BODY, SIGNATURE, '')).toBe(false);
  });

  test.each([
    ['missing', undefined],
    ['empty', ''],
    ['no algorithm', SIGNATURE.slice(7)],
    ['sha1', `sha1=${SIGNATURE.slice(7, 47)}`],
    ['sha512 label', `sha512=${SIGNATURE.slice(7)}`],
    ['short digest', SIGNATURE.slice(0, -2)],
    ['long digest', `${SIGNATURE}00`],
    ['not hex', `${SIGNATURE.slice(0, -1)}g`],
    ['leading space', ` ${SIGNATURE}`],
    ['two values', `${SIGNATURE}, ${SIGNATURE}`],
    ['uppercase label', `SHA256=${SIGNATURE.slice(7)}`],
  ])('refuses a malformed header (%s) without throwing', (_name, header) => {
    expect(isWellFormedHubSignature(header)).toBe(false);
    expect(verifyHubSignature(RAW_BODY, header, SECRET)).toBe(false);
  });

  test('property: a signature verifies for its body and secret only', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 512 }),
        fc.string({ minLength: 1, maxLength: 128 }),
        fc.nat(),
        (body, secret, flip) => {
          const signature = hubSignature(body, secret);
          expect(verifyHubSignature(body, signature, secret)).toBe(true);
          if (body.length > 0) {
            const changed = Uint8Array.from(body);
            const index = flip % changed.length;
            changed[index] = (changed[index] ?? 0) ^ (1 << (flip % 8));
            expect(verifyHubSignature(changed, signature, secret)).toBe(false);
          }
          expect(verifyHubSignature(body, signature, `${secret}x`)).toBe(false);
        },
      ),
      { numRuns: 200 },
    );
  });
});
