import { REASON_TEXT, RULE_TEXT } from '../../src/render/explanations';
import type { CheckView, VerdictView } from '../../src/web/client/api-schemas';
import { buildTimeline } from '../../src/web/model/timeline';
import {
  evidencePairs,
  failingFirst,
  reasonText,
  ruleText,
  shortId,
  subjectText,
  verdictAppearance,
  verdictLabel,
} from '../../src/web/model/words';
import { draftOf, settingsOf } from '../../src/web/settings/settings-draft';

/** The pages' pure parts: ordering, wording (from src/render/explanations.ts), the settings form's round trip. */

describe('words', () => {
  it('takes rule and reason words from the one registry, and never invents any', () => {
    expect(ruleText('policy.paths')).toBe(RULE_TEXT['policy.paths']);
    expect(reasonText('PATH_DENIED')).toBe(REASON_TEXT.PATH_DENIED);
    expect(reasonText('SOMETHING_NEW')).toBe('SOMETHING_NEW');
    expect(ruleText('toString')).toBe('toString');
  });

  it('a failure in warn or observe mode is labelled as not blocking', () => {
    expect([verdictLabel('FAIL', 'enforce'), verdictAppearance('FAIL', 'enforce')]).toEqual(['Failed', 'removed']);
    expect([verdictLabel('FAIL', 'warn'), verdictAppearance('FAIL', 'warn')]).toEqual([
      'Failed (warn: not blocking)',
      'moved',
    ]);
    expect(verdictLabel('NOT_APPLICABLE', 'enforce')).toBe('Not an agent PR');
    expect(verdictLabel('PENDING', 'enforce')).toBe('Waiting');
  });

  it('puts failing checks first, then waiting ones, keeping the engine’s order inside each', () => {
    const checks: CheckView[] = [
      { rule: 'a', outcome: 'pass', code: 'OK' },
      { rule: 'b', outcome: 'fail', code: 'X' },
      { rule: 'c', outcome: 'pending', code: 'APPROVAL_REQUIRED' },
      { rule: 'd', outcome: 'fail', code: 'Y' },
      { rule: 'e', outcome: 'skip', code: 'OK' },
    ];
    expect(failingFirst(checks).map((check) => check.rule)).toEqual(['b', 'd', 'c', 'a', 'e']);
  });

  it('names what a check concerns, and shows only scalar evidence', () => {
    expect(subjectText({ kind: 'file', id: 'bitbucket-pipelines.yml' })).toBe('file bitbucket-pipelines.yml');
    expect(subjectText({ kind: 'gateway_receipt', id: 'rcpt_1', path: 'payload.receipts[0]' })).toBe(
      'model-call receipt rcpt_1 (at payload.receipts[0])',
    );
    expect(subjectText(undefined)).toBeNull();
    expect(evidencePairs({ glob: '**/x', counted: 0, ok: true, list: ['a', 'b'], nested: { a: 1 } })).toEqual([
      ['glob', '**/x'],
      ['counted', '0'],
      ['ok', 'true'],
      ['list', 'a, b'],
    ]);
    expect(shortId('did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK', 6)).toBe('did:key:z6Mkha…ta2doK');
    expect(shortId('short')).toBe('short');
  });
});

describe('receipts timeline', () => {
  it('orders every kind of receipt by time; receipts without a readable time go last, in bundle order', () => {
    const receipts: VerdictView['receipts'] = {
      gateway: [
        { index: 0, timestamp: '2026-01-01T00:00:02Z', provider: 'anthropic' },
        { index: 1, issuedAt: '2026-01-01T00:00:00Z' },
      ],
      tools: [{ index: 0, toolName: 'bash', timestamp: 'not a time' }],
      sideEffects: [{ index: 0, category: 'network_egress', timestamp: '2026-01-01T00:00:01Z' }],
      approvals: [{ index: 0 }],
    };
    expect(buildTimeline(receipts).map((entry) => `${entry.kind}#${entry.receipt.index}`)).toEqual([
      'model_call#1',
      'side_effect#0',
      'model_call#0',
      'tool_call#0',
      'approval#0',
    ]);
  });
});

describe('the settings form', () => {
  it('turns settings into rows and back without losing anything; the kill switch is the server’s', () => {
    const settings = {
      mode: 'warn' as const,
      trusted_gateways: [{ did: 'did:key:z6Mkgw', expires_at: '2027-01-01T00:00:00Z' }, { did: 'did:key:z6Mkgw2' }],
      cst_issuers: [{ kid: 'k1', public_key_b64u: 'A'.repeat(43) }, { public_key_b64u: 'B'.repeat(43) }],
      wpc_issuers: ['did:key:z6Mkwpc'],
      agents: [
        { account_uuid: '{a}', role: 'write' as const, agent_did: 'did:key:z6Mkag' },
        { account_uuid: '{b}', role: 'read' as const },
      ],
      frozen: false,
      revocations: {
        agent_dids: ['did:key:z6Mkrev'],
        account_uuids: [],
        cst_jtis: ['jti-1'],
        gateway_dids: [],
        bundle_ids: ['bundle_1'],
      },
    };
    expect(settingsOf(draftOf(settings), false)).toEqual(settings);
    expect(settingsOf(draftOf(settings), true).frozen).toBe(true);
    // The opt-in mission pattern survives a round trip too (a save from the page must not drop it).
    const withPattern = { ...settings, mission_id_pattern: '{repository}#*' };
    expect(settingsOf(draftOf(withPattern), false)).toEqual(withPattern);
  });
});
