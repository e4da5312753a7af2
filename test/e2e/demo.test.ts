import { runDemo } from '../../src/demo/run-demo';

/** The whole story (`npm run demo`) as a test: every verdict as expected, under the time budget. */
describe('e2e: the demo story against the sandbox', () => {
  test('every agent PR gets its expected verdict, status and report', async () => {
    const lines: string[] = [];
    const outcome = await runDemo({ print: (line) => lines.push(line), timeoutMs: 50_000 });
    if (!outcome.ok) console.log(lines.join('\n'));
    expect(outcome.results.map((r) => [r.name, r.state, r.status])).toEqual([
      ['compliant agent PR', 'PASS', 'SUCCESSFUL'],
      ['touches bitbucket-pipelines.yml', 'FAIL', 'FAILED'],
      ["replays another PR's bundle", 'FAIL', 'FAILED'],
      ['tampered signature', 'FAIL', 'FAILED'],
      ['model not allowed by the WPC (uploaded bundle)', 'FAIL', 'FAILED'],
      ['human PR without a bundle', 'NOT_APPLICABLE', 'SUCCESSFUL'],
      // The Forge workspace: the Required merge check refuses the non-compliant merge, allows the compliant one.
      ['Forge: agent PR touching bitbucket-pipelines.yml', 'merge refused', 'FAILED'],
      ['Forge: compliant agent PR', 'merged', 'SUCCESSFUL'],
    ]);
    expect(outcome.ok).toBe(true);
    const pipelines = outcome.results[1];
    expect(pipelines?.annotations.some((a) => a.startsWith('bitbucket-pipelines.yml: PATH_DENIED'))).toBe(true);
    expect(outcome.results[0]?.reportResult).toBe('PASSED');
    expect(outcome.results[0]?.detailsUrl).toMatch(/\/connect\/details\//);
  }, 90_000);
});
