import { createRecheckRequester, RecheckRateLimitedError } from '../../src/pipeline/recheck';
import { TableJobQueue } from '../../src/queue';
import { openStore, type Store } from '../../src/store';

/**
 * One PR's re-checks are limited on every path together (the API's button and the PR comment both
 * queue through this requester): each is a whole evaluation against the workspace's API budget.
 */

const WORKSPACE = '{7e7e7e7e-0000-4000-8000-000000000001}';
let store: Store;

beforeAll(async () => {
  store = await openStore('sqlite::memory:', { secretKey: Buffer.alloc(32, 4) });
  await store.tenants.upsertInstall({
    workspaceId: WORKSPACE,
    workspaceSlug: 'acme',
    surface: 'repo_webhooks',
    clientKey: `repo_webhooks:${WORKSPACE}`,
    sharedSecret: 's'.repeat(43),
    accessToken: 'at',
    baseApiUrl: 'https://api.bitbucket.org',
    actor: 'test',
  });
});
afterAll(() => store.close());

test('a PR gets at most N re-checks per window, whoever asks; nothing is queued past the limit; other PRs keep theirs', async () => {
  const queue = new TableJobQueue(store.jobs, { workerId: 'test' });
  const requestRecheck = createRecheckRequester({ store, queue, perPullRequest: { points: 2, windowSeconds: 600 } });
  await requestRecheck(WORKSPACE, 'acme/web', 1, 'connect:alice');
  await requestRecheck(WORKSPACE, 'acme/web', 1, 'bitbucket:{bob}');
  const queued = (await store.jobs.list()).length;
  await expect(requestRecheck(WORKSPACE, 'acme/web', 1, 'api_token:x')).rejects.toBeInstanceOf(RecheckRateLimitedError);
  expect((await store.jobs.list()).length).toBe(queued);
  await requestRecheck(WORKSPACE, 'acme/web', 2, 'connect:alice');
  expect((await store.jobs.list()).length).toBe(queued + 1);
});
