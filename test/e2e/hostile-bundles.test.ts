import { monitorEventLoopDelay } from 'node:perf_hooks';
import { callApi, finalStatus, prepareWorkspace, type Workspace } from './harness';
import { settle, startWorld, type World } from './operations-world';

/**
 * Finding 6 end to end: anyone who can push commits a junk bundle (100,000 unsigned receipts,
 * ≈1.1 MiB) and names it on a PR. It must FAIL on its own reason code, and while clawgate handles it
 * the server keeps answering: verification runs in worker threads, off the event loop.
 */

function junkBundle(receipts: number): string {
  const receipt = '{"envelope_type":"gateway_receipt","payload":{}}';
  return `{"envelope_version":"1","envelope_type":"proof_bundle","payload":{"bundle_version":"1","bundle_id":"junk-1","agent_did":"did:key:zjunk","receipts":[${Array(receipts).fill(receipt).join(',')}]},"payload_hash_b64u":"x","hash_algorithm":"SHA-256","signature_b64u":"x","algorithm":"Ed25519","signer_did":"did:key:zjunk","issued_at":"2026-01-01T00:00:00Z"}`;
}

describe('e2e: a hostile bundle fails closed and does not stall the server', () => {
  let world: World;
  let ws: Workspace;

  beforeAll(async () => {
    world = await startWorld();
    ws = await prepareWorkspace(world.sandbox, world.app.url, { mode: 'enforce' });
  });
  afterAll(async () => {
    await world.close();
  });

  it('100,000 junk receipts: FAILED with BUNDLE_LIMIT_EXCEEDED while API answers stay fast', async () => {
    const { sandbox } = world;
    sandbox.commit('acme/proj-web', {
      branch: 'agent/junk',
      author: 'claw-bot',
      message: 'work',
      files: { 'src/app.ts': 'export const app = 2;\n' },
    });
    const head = sandbox.commit('acme/proj-web', {
      branch: 'agent/junk',
      author: 'claw-bot',
      message: 'bundle',
      files: { '.clawsig/proof_bundle.json': junkBundle(100_000) },
    }).hash;

    const histogram = monitorEventLoopDelay({ resolution: 5 });
    histogram.enable();
    const latencies: number[] = [];
    let polling = true;
    const poller = (async () => {
      while (polling) {
        const started = performance.now();
        const answer = await callApi(world.app.url, 'GET', '/api/v1/workspaces/acme/settings', ws.bearer);
        latencies.push(performance.now() - started);
        expect(answer.status).toBe(200);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    sandbox.openPullRequest('acme/proj-web', {
      source: 'agent/junk',
      author: 'claw-bot',
      title: 'junk',
      description: 'Proof-Bundle: junk-1',
    });
    const status = await finalStatus(sandbox, head, 60_000);
    await settle(world);
    polling = false;
    await poller;
    histogram.disable();

    expect(status.state).toBe('FAILED');
    expect(String(status.description)).toContain('BUNDLE_LIMIT_EXCEEDED');
    expect(latencies.length).toBeGreaterThan(3);
    // On c06be81 the event loop was blocked for ~17 s (schema issues for every receipt). The bound is
    // loose because the test machine is shared; bench/junk-bundle-latency.ts measures the real figure.
    expect(Math.max(...latencies)).toBeLessThan(3_000);
    expect(histogram.max / 1e6).toBeLessThan(3_000);
  });
});
