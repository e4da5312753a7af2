import { parseBitbucketWpc, type BitbucketWpc } from '../../../src/core/policy';
import type { WriteAction } from '../../../src/core/policy/change-set';
import { judgeWriteAction } from '../../../src/core/policy/write-action-policy';
import { makeBitbucketWpc } from '../../../src/testkit';

function policy(mutate: (wpc: { policy: { write: { allow: string[]; deny: string[] } } }) => void = () => undefined): {
  wpc: BitbucketWpc;
  hash: string;
} {
  const doc = makeBitbucketWpc({ repos: ['acme/proj-web'] }) as unknown as {
    policy: { write: { allow: string[]; deny: string[] } };
  };
  mutate(doc);
  const parsed = parseBitbucketWpc(doc);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return { wpc: parsed.wpc, hash: parsed.policyHashB64u };
}

const judge = (
  p: ReturnType<typeof policy> | undefined,
  action: WriteAction,
  options: { repo?: string; role?: 'read' | 'write' } = {},
) => {
  const repo = options.repo ?? 'acme/proj-web';
  const [workspace, repoSlug] = repo.split('/') as [string, string];
  return judgeWriteAction(p, {
    workspace,
    repoSlug,
    repoFullName: repo,
    action,
    actor: { accountId: '{bot}', role: options.role ?? 'write' },
  });
};

describe('judging an agent write action with the WPC', () => {
  test('deny wins, allow allows, an action in neither list is not allowed', () => {
    expect(judge(policy(), 'direct_push_main')).toMatchObject({ denied: true, reasonCode: 'ACTION_DENIED' });
    expect(judge(policy(), 'comment_pr')).toEqual({ denied: false, reasonCode: 'OK', checks: [] });
    expect(
      judge(
        policy((w) => (w.policy.write.allow = ['create_pr'])),
        'comment_pr',
      ),
    ).toMatchObject({ denied: true, reasonCode: 'ACTION_NOT_ALLOWED' });
  });

  test('a repository outside repos_allowlist is denied whatever the action', () => {
    const result = judge(policy(), 'comment_pr', { repo: 'acme/other' });
    expect(result.denied).toBe(true);
    expect(result.checks.map((c) => c.code)).toEqual(['REPO_NOT_ALLOWED']);
  });

  test('no WPC for the repository fails closed; a read identity never writes', () => {
    expect(judge(undefined, 'comment_pr')).toMatchObject({ denied: true, reasonCode: 'WPC_NOT_ASSIGNED' });
    expect(judge(policy(), 'comment_pr', { role: 'read' })).toMatchObject({
      denied: true,
      reasonCode: 'AGENT_ROLE_INSUFFICIENT',
    });
  });

  test('only the action clauses count (no bundle, no receipts are no reason here)', () => {
    const result = judge(policy(), 'create_branch');
    expect(result.denied).toBe(false);
  });
});
