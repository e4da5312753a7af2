import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { REASON_CODES } from '../../src/core/reason-codes';

/**
 * A reason code nothing emits is removed, not kept (docs/architecture.md §4, step 5): every code in
 * src/core/reason-codes.ts must appear as a string literal in code that can emit it — anywhere in
 * src/ except the registry itself, the words (src/render/, src/web/) and the producers of test data
 * (src/testkit/, src/sandbox/) — or be listed below, with the reason it is kept.
 */
const RESERVED: Readonly<Record<string, string>> = {};

const SRC = path.join(__dirname, '..', '..', 'src');
const NOT_EMITTERS = ['core/reason-codes.ts', 'render/', 'web/', 'testkit/', 'sandbox/'].map((p) => path.join(SRC, p));

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return sources(full);
    return /\.tsx?$/.test(name) ? [full] : [];
  });
}

describe('reason codes', () => {
  const text = sources(SRC)
    .filter((file) => !NOT_EMITTERS.some((prefix) => file === prefix || file.startsWith(prefix)))
    .map((file) => readFileSync(file, 'utf8'))
    .join('\n');

  it.each(Object.keys(REASON_CODES))('%s is emitted somewhere (or reserved with a reason)', (code) => {
    const literal = new RegExp(`['"\`]${code}['"\`]`);
    expect(literal.test(text) || RESERVED[code] !== undefined).toBe(true);
  });

  it('the reserved list names only registered codes', () => {
    for (const code of Object.keys(RESERVED)) expect(Object.keys(REASON_CODES)).toContain(code);
  });

  it('the check can fail: a code that exists only in the registry is found unused', () => {
    expect(/['"`]NO_SUCH_CODE_EMITTED['"`]/.test(text)).toBe(false);
  });
});
