import { budgetWaitDescription, DESCRIPTION_MAX } from '../../src/render/status-text';

/** The words on a head whose evaluation waits for Bitbucket API budget (issue 9, docs/operations.md). */
describe('budgetWaitDescription', () => {
  const at = Date.UTC(2026, 11, 7, 13, 4, 59);

  test('INPROGRESS says it waits for the budget and when it resumes (UTC, to the minute)', () => {
    const text = budgetWaitDescription('enforce', 'INPROGRESS', at);
    expect(text).toBe('clawgate is waiting for Bitbucket API budget; the evaluation resumes about 13:04 UTC');
    expect(text.length).toBeLessThanOrEqual(DESCRIPTION_MAX);
  });

  test('FAILED in enforce is a clawgate error; observe and warn name their mode', () => {
    expect(budgetWaitDescription('enforce', 'FAILED', at)).toMatch(
      /^CLAWGATE_ERROR: waiting for Bitbucket API budget; .* 13:04 UTC$/,
    );
    expect(budgetWaitDescription('observe', 'FAILED', at)).toMatch(/^observe: waiting for Bitbucket API budget/);
    expect(budgetWaitDescription('warn', 'FAILED', at).length).toBeLessThanOrEqual(DESCRIPTION_MAX);
  });
});
