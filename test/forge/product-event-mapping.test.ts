import { forgeDeliveryId, unwrapForgeBody, webhookEventKeyOf, webhookPayloadOf } from '../../src/forge';
import { forgeEventSchema } from '../../src/forge/product-events';
import { operationsJobFor } from '../../src/pipeline/operations-events';
import { pullRequestEventSchema } from '../../src/pipeline/webhook-events';

/**
 * Forge product events become the jobs the pipeline runs for the equivalent webhooks: the same
 * parsers (webhook-events.ts, operations-events.ts) accept what the mapping produces, so incidents,
 * the forged-status defence and the re-check command work for Forge workspaces too.
 */

const WS = '{11111111-2222-4333-8444-555555555555}';
const REPO = '{66666666-7777-4888-8999-aaaaaaaaaaaa}';
const AGENT = '{bbbbbbbb-cccc-4ddd-8eee-ffffffffffff}';
const common = {
  workspaceId: WS,
  clientKey: 'ari:cloud:ecosystem::installation/x',
  deliveryId: 'forge:1',
  eventKey: '',
};
const target = { fullName: 'acme/proj-web', workspaceSlug: 'acme' };

function map(event: Record<string, unknown>) {
  const parsed = forgeEventSchema.parse({
    workspace: { uuid: WS.slice(1, -1) },
    repository: { uuid: REPO },
    actor: { type: 'user', uuid: AGENT, accountId: '557058:agent' },
    ...event,
  });
  const key = webhookEventKeyOf(parsed.eventType);
  if (key === null) throw new Error('unmapped');
  const payload = webhookPayloadOf(parsed, key, target);
  return { key, payload };
}

describe('Forge product events → the pipeline’s webhook vocabulary', () => {
  test('a PR event evaluates the head it names (12-character hash, as Forge sends)', () => {
    const { key, payload } = map({
      eventType: 'avi:bitbucket:created:pullrequest',
      pullrequest: {
        id: 7,
        state: 'OPEN',
        source: { branch: { name: 'agent/x' }, commit: { hash: 'cc2758d231fc' } },
        destination: { branch: 'main', commit: { hash: 'aaaaaaaaaaaa' } },
      },
    });
    expect(key).toBe('pullrequest:created');
    const event = pullRequestEventSchema.parse(payload);
    expect(event.repository.full_name).toBe('acme/proj-web');
    expect(event.pullrequest.source.commit?.hash).toBe('cc2758d231fc');
    expect(event.repository.workspace?.uuid).toBe(WS);
  });

  test('a push to main by the agent becomes a push operation (incident check) with its commit message', () => {
    const after = 'b'.repeat(40);
    const { key, payload } = map({
      eventType: 'avi:bitbucket:push:repository',
      push: {
        ref: { name: 'main', type: 'branch' },
        before: 'a'.repeat(40),
        after,
        commits: [{ hash: after, message: 'direct push' }],
      },
    });
    expect(key).toBe('repo:push');
    const parsed = operationsJobFor(key, payload, { ...common, eventKey: key });
    expect(parsed).toEqual({
      job: expect.objectContaining({
        kind: 'push',
        repoFullName: 'acme/proj-web',
        actor: expect.objectContaining({ uuid: AGENT }),
        changes: [
          {
            oldName: 'main',
            oldType: 'branch',
            oldHash: 'a'.repeat(40),
            newName: 'main',
            newType: 'branch',
            newHash: after,
            newMessage: 'direct push',
            closed: false,
            truncated: true,
          },
        ],
      }),
    });
  });

  test('a branch deletion is a closed change; a merged PR and a comment become their operations', () => {
    const deleted = map({
      eventType: 'avi:bitbucket:push:repository',
      push: { ref: 'refs/heads/release', before: 'a'.repeat(40), after: null },
    });
    const push = operationsJobFor(deleted.key, deleted.payload, { ...common, eventKey: deleted.key });
    expect(push).toEqual({
      job: expect.objectContaining({
        changes: [expect.objectContaining({ oldName: 'release', newName: null, closed: true })],
      }),
    });
    const fulfilled = map({
      eventType: 'avi:bitbucket:fulfilled:pullrequest',
      pullrequest: {
        id: 3,
        state: 'MERGED',
        source: { branch: 'agent/y' },
        destination: { branch: { name: 'main' } },
        mergeCommit: { hash: 'c'.repeat(12) },
      },
    });
    expect(operationsJobFor(fulfilled.key, fulfilled.payload, { ...common, eventKey: fulfilled.key })).toEqual({
      job: expect.objectContaining({
        kind: 'pr_fulfilled',
        prId: 3,
        mergeCommit: 'c'.repeat(12),
        destinationBranch: 'main',
      }),
    });
    const comment = map({
      eventType: 'avi:bitbucket:created:pullrequest-comment',
      pullrequest: { id: 3, source: { commit: { hash: 'd'.repeat(12) } } },
      comment: { id: 9, content: { raw: '/clawgate recheck' } },
    });
    expect(operationsJobFor(comment.key, comment.payload, { ...common, eventKey: comment.key })).toEqual({
      job: expect.objectContaining({ kind: 'pr_comment', prId: 3, commentId: 9, content: '/clawgate recheck' }),
    });
  });

  test('a build status under clawgate’s key reaches the forged-status defence', () => {
    const { key, payload } = map({
      eventType: 'avi:bitbucket:created:build-status',
      buildStatus: {
        key: 'clawgate',
        state: 'SUCCESSFUL',
        url: 'https://evil.example',
        commit: { hash: 'e'.repeat(40) },
        refName: 'agent/x',
      },
    });
    expect(key).toBe('repo:commit_status_created');
    const parsed = operationsJobFor(key, payload, { ...common, eventKey: key });
    expect('job' in parsed).toBe(true);
  });

  test('retries of an event share its delivery id; a different event does not; both body shapes unwrap', () => {
    const event = {
      eventType: 'avi:bitbucket:updated:pullrequest',
      workspace: { uuid: WS },
      repository: { uuid: REPO },
      pullrequest: { id: 1 },
    };
    const retried = { ...event, retryContext: { retryData: null, retryCount: 2, retryReason: 'TIMEOUT_ERROR' } };
    expect(forgeDeliveryId(unwrapForgeBody({ payload: retried, context: {} }))).toBe(
      forgeDeliveryId(unwrapForgeBody(event)),
    );
    expect(forgeDeliveryId({ ...event, pullrequest: { id: 2 } })).not.toBe(forgeDeliveryId(event));
    expect(forgeDeliveryId(event)).toMatch(/^forge:[0-9a-f]{64}$/);
  });

  test('events clawgate does not handle have no webhook key', () => {
    expect(webhookEventKeyOf('avi:bitbucket:created:commit-comment')).toBeNull();
    expect(webhookEventKeyOf('avi:forge:installed:app')).toBeNull();
  });
});
