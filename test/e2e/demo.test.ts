import { runDemo } from '../../src/demo/run-demo';

/** The whole story (`npm run demo`) as a test: every verdict as expected, under the time budget. */
describe('e2e: the demo story against the sandbox', () => {
  test('every agent PR gets its expected verdict, status and report', async () => {
    const lines: string[] = [];
    const outcome = await runDemo({ print: (line) => lines.push(line), timeoutMs: 80_000 });
    if (!outcome.ok) console.log(lines.join('\n'));
    expect(outcome.results.map((r) => [r.name, r.state, r.status])).toEqual([
      ['compliant agent PR', 'PASS', 'SUCCESSFUL'],
      ['touches bitbucket-pipelines.yml', 'FAIL', 'FAILED'],
      ["replays another PR's bundle", 'FAIL', 'FAILED'],
      ['tampered signature', 'FAIL', 'FAILED'],
      ['model not allowed by the WPC (uploaded bundle)', 'FAIL', 'FAILED'],
      ['human PR without a bundle', 'NOT_APPLICABLE', 'SUCCESSFUL'],
      ['agent PR via preflight + attach, with a Trust Pulse', 'PASS', 'SUCCESSFUL'],
    ]);
    // The agent's own commands, the pulse in the panel's data, and the evidence pack (issue 12).
    expect(outcome.steps.map((step) => [step.name, step.ok])).toEqual([
      ['clawgate agent preflight (before the PR exists)', true],
      ['clawgate agent attach (bundle + URM + Trust Pulse, bundles:write token)', true],
      ["Trust Pulse in the PR panel (self-reported by the agent's harness)", true],
      ['evidence pack re-verifies offline (clawgate verify)', true],
      ['the same pack with one byte changed fails', true],
    ]);
    expect(outcome.ok).toBe(true);
    const pipelines = outcome.results[1];
    expect(pipelines?.annotations.some((a) => a.startsWith('bitbucket-pipelines.yml: PATH_DENIED'))).toBe(true);
    expect(outcome.results[0]?.reportResult).toBe('PASSED');
    expect(outcome.results[0]?.detailsUrl).toMatch(/\/connect\/details\//);
  }, 120_000);
});
