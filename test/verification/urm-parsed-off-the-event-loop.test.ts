import { createVerifier, inlineVerifier, URM_BOUNDS, type Verifier } from '../../src/verification';

/**
 * Issue 9 (hostile bundles): a run's URM comes from the PR (any committer) and may be as large as a
 * bundle; it is parsed and bounded in the verification pool. A hostile one is refused (and then binds
 * nothing: a bundle naming it fails URM_MISSING, test/e2e/hostile-urm-fails-closed.test.ts), and the
 * event loop runs other work while the worker parses it.
 */

/** 2 MiB of nested arrays: seconds of JSON.parse on a loaded machine. */
const NESTED = `${'['.repeat(1024 * 1024)}${']'.repeat(1024 * 1024)}`;

/** Parses `text` and counts the event-loop turns (setImmediate) that ran before the answer came. */
async function turnsWhileParsing(
  verifier: Verifier,
  text: string,
): Promise<{ answer: Awaited<ReturnType<Verifier['parseJson']>>; turns: number }> {
  let turns = 0;
  let done = false;
  const tick = (): void => {
    if (done) return;
    turns += 1;
    setImmediate(tick);
  };
  setImmediate(tick);
  const answer = await verifier.parseJson(text, URM_BOUNDS);
  done = true;
  return { answer, turns };
}

describe('a URM is parsed and bounded off the event loop', () => {
  const pool = createVerifier({ threads: 1 });
  afterAll(async () => {
    await pool.close();
  });

  it('a good URM comes back parsed', async () => {
    const urm = { urm_version: '1', urm_id: 'u1', inputs: [{ path: 'a.ts', hash_b64u: 'x' }] };
    expect(await pool.parseJson(JSON.stringify(urm), URM_BOUNDS)).toEqual({ value: urm });
  });

  it.each<[string, string, object]>([
    ['nested past the depth bound', NESTED, { problem: 'limit', path: expect.any(String) as string }],
    [
      'a list past the length bound',
      `{"inputs":[${Array(URM_BOUNDS.maxArrayLength + 1)
        .fill('1')
        .join(',')}]}`,
      { problem: 'limit', path: 'inputs' },
    ],
    ['not JSON', '{"urm_id":', { problem: 'not_json' }],
  ])('%s: refused, never parsed into the engine input', async (_name, text, refusal) => {
    expect(await pool.parseJson(text, URM_BOUNDS)).toEqual(refusal);
  });

  it('the event loop keeps turning while the worker parses a hostile URM; on the calling thread it does not', async () => {
    const pooled = await turnsWhileParsing(pool, NESTED);
    expect(pooled.answer).toMatchObject({ problem: 'limit' });
    expect(pooled.turns).toBeGreaterThan(1);
    const inline = await turnsWhileParsing(inlineVerifier, NESTED);
    expect(inline.answer).toMatchObject({ problem: 'limit' });
    expect(inline.turns).toBeLessThanOrEqual(1);
  });
});
