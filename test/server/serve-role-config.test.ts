import { ConfigError, loadAppConfig } from '../../src/config/app-config';
import { runServe, SERVE_USAGE } from '../../src/cli/service-commands';

/** `clawgate serve --role` and the role/worker settings are validated at the edge (fail closed at start). */
describe('serve roles and worker settings', () => {
  test('the environment selects role, worker processes and concurrency; bad values refuse to start', () => {
    expect(
      loadAppConfig({ CLAWGATE_ROLE: 'web', CLAWGATE_WORKER_PROCESSES: '0', CLAWGATE_WORKER_CONCURRENCY: '12' }),
    ).toMatchObject({ role: 'web', workerProcesses: 0, workerConcurrency: 12 });
    expect(loadAppConfig({}).role).toBeUndefined();
    expect(() => loadAppConfig({ CLAWGATE_ROLE: 'scheduler' })).toThrow(ConfigError);
    expect(() => loadAppConfig({ CLAWGATE_WORKER_PROCESSES: '17' })).toThrow(ConfigError);
    expect(() => loadAppConfig({ CLAWGATE_WORKER_CONCURRENCY: '0' })).toThrow(ConfigError);
  });

  test('clawgate serve refuses an unknown role or argument before starting anything, and documents the roles', async () => {
    const errors: string[] = [];
    const io = { env: {}, now: () => 0, stdout: () => undefined, stderr: (text: string) => void errors.push(text) };
    expect(await runServe(['--role', 'scheduler'], io)).toBe(2);
    expect(await runServe(['extra'], io)).toBe(2);
    expect(errors.join('')).toMatch(/--role must be all, web or worker/);
    expect(SERVE_USAGE).toMatch(/--role web/);
    expect(SERVE_USAGE).toMatch(/CLAWGATE_WORKER_PROCESSES/);
  });
});
