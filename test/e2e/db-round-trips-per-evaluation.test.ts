import { finalStatus, openAgentPullRequest, prepareWorkspace, type Workspace } from './harness';
import { settle, startWorld, type World } from './operations-world';

/**
 * Growth (issue 15): the database round trips one evaluation job makes on a normal agent PR (a
 * compliant bundle, two commits), counted by the store (every statement sequelize sends, BEGIN and
 * COMMIT included, attributed to the job through `Store.traceQueries`) and exported as the
 * `clawgate_evaluation_db_round_trips` histogram. The bound is the number measured when it was
 * recorded (docs/operations.md, "Growth"); a change that adds round trips to every evaluation has
 * to raise it on purpose.
 */
// 24 for the evaluation itself + 2 per Bitbucket call for the per-installation API budget (8 calls).
const RECORDED_MAX_ROUND_TRIPS_PER_EVALUATION = 41;

describe('e2e: database round trips per evaluation stay at the recorded number', () => {
  let world: World;
  let ws: Workspace;

  beforeAll(async () => {
    world = await startWorld();
    ws = await prepareWorkspace(world.sandbox, world.app.url, { mode: 'enforce' });
  });
  afterAll(async () => {
    await world.close();
  });

  it('a normal agent PR: every evaluation job within the recorded round trips', async () => {
    const perJob: number[] = [];
    for (const branch of ['agent/rt-1', 'agent/rt-2', 'agent/rt-3']) {
      const pr = openAgentPullRequest(world.sandbox, ws, branch, {
        [`src/${branch.slice(6)}.ts`]: 'export const x = 1;\n',
      });
      const status = await finalStatus(world.sandbox, pr.head);
      expect(status.state).toBe('SUCCESSFUL');
      await settle(world);
      const metric = await world.app.metrics.evaluationDbRoundTrips.get();
      const sum = metric.values.find((v) => v.metricName === 'clawgate_evaluation_db_round_trips_sum')?.value ?? NaN;
      const count =
        metric.values.find((v) => v.metricName === 'clawgate_evaluation_db_round_trips_count')?.value ?? NaN;
      perJob.push(sum - perJob.reduce((a, b) => a + b, 0));
      expect(count).toBe(perJob.length);
    }
    process.stdout.write(`db round trips per evaluation: ${perJob.join(', ')}\n`);
    for (const roundTrips of perJob) {
      expect(roundTrips).toBeGreaterThan(0);
      expect(roundTrips).toBeLessThanOrEqual(RECORDED_MAX_ROUND_TRIPS_PER_EVALUATION);
    }
  });
});
