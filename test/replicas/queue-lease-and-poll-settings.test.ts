import { ConfigError, loadAppConfig } from '../../src/config/app-config';
import { isPgBossSettleRejection } from '../../src/queue/pg-boss-job-queue';

/** The replica settings (CLAWGATE_JOB_LEASE_MS, CLAWGATE_QUEUE_POLL_MS) and the pg-boss settle guard's recognition. */
describe('replica queue settings', () => {
  test('the job lease and the poll are read from the environment, bounded, and absent by default', () => {
    const config = loadAppConfig({ CLAWGATE_JOB_LEASE_MS: '3000', CLAWGATE_QUEUE_POLL_MS: '250' });
    expect(config.jobLeaseMs).toBe(3000);
    expect(config.queuePollMs).toBe(250);
    const defaults = loadAppConfig({});
    expect(defaults.jobLeaseMs).toBeUndefined();
    expect(defaults.queuePollMs).toBeUndefined();
    // A lease under a second would have every slow evaluation taken over while it runs.
    for (const lease of ['999', '0', '-5', '1e4', 'soon'])
      expect(() => loadAppConfig({ CLAWGATE_JOB_LEASE_MS: lease })).toThrow(ConfigError);
    for (const poll of ['5', '0', 'fast'])
      expect(() => loadAppConfig({ CLAWGATE_QUEUE_POLL_MS: poll })).toThrow(ConfigError);
  });

  test("only a rejection of pg-boss's own complete/fail is kept from ending the process", () => {
    const settle = new Error('connect ECONNREFUSED 127.0.0.1:41237');
    settle.stack = `Error: connect ECONNREFUSED 127.0.0.1:41237\n    at /app/node_modules/pg-pool/index.js:45:11\n    at async Db.executeSql (/app/node_modules/pg-boss/src/db.js:42:14)\n    at async Manager.fail (/app/node_modules/pg-boss/src/manager.js:493:20)`;
    expect(isPgBossSettleRejection(settle)).toBe(true);
    const completing = new Error('terminating connection due to administrator command');
    completing.stack = `error: terminating connection\n    at async Manager.complete (C:\\app\\node_modules\\pg-boss\\src\\manager.js:485:20)`;
    expect(isPgBossSettleRejection(completing)).toBe(true);
    // Anything else keeps Node's default (the process ends): our own code, pg-boss's other calls, non-errors.
    const ours = new Error('boom');
    ours.stack = 'Error: boom\n    at async evaluate (/app/dist/pipeline/evaluation/evaluate-pull-request.js:10:3)';
    expect(isPgBossSettleRejection(ours)).toBe(false);
    const send = new Error('down');
    send.stack = 'Error: down\n    at async Manager.send (/app/node_modules/pg-boss/src/manager.js:300:5)';
    expect(isPgBossSettleRejection(send)).toBe(false);
    expect(isPgBossSettleRejection('Manager.fail (pg-boss/src/manager.js)')).toBe(false);
  });
});
