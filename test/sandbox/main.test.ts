import { runSandboxCommand } from '../../src/sandbox/main';

describe('runSandboxCommand', () => {
  it('starts a sandbox on loopback, prints its base URL, and answers /2.0 with 401 without credentials', async () => {
    const lines: string[] = [];
    const sandbox = await runSandboxCommand({ port: 0, host: '127.0.0.1', handleSignals: false }, (l) => lines.push(l));
    try {
      expect(lines).toEqual([sandbox.baseUrl]);
      expect(sandbox.baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const res = await fetch(`${sandbox.baseUrl}/2.0/user`);
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({
        type: 'error',
        error: expect.objectContaining({ message: expect.any(String) }),
      });
    } finally {
      await sandbox.close();
    }
  });
});
