import { ConfigError, DEFAULT_API_BUDGET, loadAppConfig } from '../../src/config/app-config';

/** The API budget's settings (docs/operations.md, "The Bitbucket API budget") are validated at the edge. */
describe('API budget settings', () => {
  test('default to 1,000 an hour, 100 kept for writes, 50 reads per evaluation, 5 s after a 429', () => {
    expect(loadAppConfig({}).apiBudget).toEqual(DEFAULT_API_BUDGET);
    expect(DEFAULT_API_BUDGET).toEqual({ callsPerHour: 1000, writeReserve: 100, perEvaluation: 50, cooldownMs: 5000 });
  });

  test('are read from the environment', () => {
    const config = loadAppConfig({
      CLAWGATE_API_CALLS_PER_HOUR: '10000',
      CLAWGATE_API_WRITE_RESERVE: '500',
      CLAWGATE_API_CALLS_PER_EVALUATION: '200',
      CLAWGATE_API_COOLDOWN_MS: '0',
    });
    expect(config.apiBudget).toEqual({ callsPerHour: 10000, writeReserve: 500, perEvaluation: 200, cooldownMs: 0 });
    expect(loadAppConfig({ CLAWGATE_API_CALLS_PER_HOUR: '0' }).apiBudget?.callsPerHour).toBe(0);
  });

  test('refuse a reserve that leaves no reads, a zero evaluation cap and non-numbers', () => {
    expect(() => loadAppConfig({ CLAWGATE_API_CALLS_PER_HOUR: '100', CLAWGATE_API_WRITE_RESERVE: '100' })).toThrow(
      ConfigError,
    );
    expect(() => loadAppConfig({ CLAWGATE_API_CALLS_PER_EVALUATION: '0' })).toThrow(
      /CLAWGATE_API_CALLS_PER_EVALUATION/,
    );
    expect(() => loadAppConfig({ CLAWGATE_API_CALLS_PER_HOUR: '-1' })).toThrow(/CLAWGATE_API_CALLS_PER_HOUR/);
    expect(() => loadAppConfig({ CLAWGATE_API_COOLDOWN_MS: '1e3' })).toThrow(/CLAWGATE_API_COOLDOWN_MS/);
  });
});
