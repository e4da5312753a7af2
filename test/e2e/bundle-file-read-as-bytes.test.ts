import { createHash } from 'node:crypto';
import { verifyEvidencePack } from '../../src/evidence/evidence-pack';
import type { EvaluationRecord } from '../../src/store';
import { callApi, finalStatus, openAgentPullRequest, prepareWorkspace, type Workspace } from './harness';
import { evaluationsOf, settle, startWorld, type World } from './operations-world';

/**
 * Finding 6 (a 10 MiB junk bundle must not delay another workspace): a bundle file committed in a PR
 * is read as bytes and decoded and hashed in the verification pool, not on the event loop. What must
 * not change with it: the recorded bundle hash is the SHA-256 of the file's exact bytes, a file that
 * is not UTF-8 or is over the size limit fails closed (BUNDLE_UNREADABLE), and a good bundle passes.
 */

const MAX_BUNDLE_BYTES = 64 * 1024;

function sha256B64u(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('base64url');
}

/** The verdict failed a check on BUNDLE_UNREADABLE (its status names the first failing check in rule order). */
function unreadable(evaluation: EvaluationRecord | undefined): boolean {
  return JSON.stringify(evaluation?.verdict ?? {}).includes('"BUNDLE_UNREADABLE"');
}

describe('e2e: a PR bundle file is decoded and hashed off the event loop, byte-exact and fail-closed', () => {
  let world: World;
  let ws: Workspace;

  beforeAll(async () => {
    world = await startWorld({ env: { CLAWGATE_MAX_BUNDLE_BYTES: String(MAX_BUNDLE_BYTES) } });
    ws = await prepareWorkspace(world.sandbox, world.app.url, { mode: 'enforce' });
  });
  afterAll(async () => {
    await world.close();
  });

  /** Agent work and a genuine bundle for it, committed as `bundleBytes(envelopeText)`; the PR opened. */
  async function agentPr(
    branch: string,
    bundleBytes: (envelopeText: string) => Uint8Array,
  ): Promise<{ head: string; prId: number; bytes: Uint8Array; status: Record<string, unknown> }> {
    let bytes: Uint8Array = new Uint8Array();
    const { head, prId } = openAgentPullRequest(
      world.sandbox,
      ws,
      branch,
      { [`src/${branch.replace(/\W/g, '-')}.ts`]: 'export const x = 1;\n' },
      {},
      (text) => (bytes = bundleBytes(text)),
    );
    const status = await finalStatus(world.sandbox, head, 30_000);
    await settle(world);
    return { head, prId, bytes, status };
  }

  it('a genuine bundle passes and its recorded hash is the SHA-256 of the file bytes (the same as the text-based hash was)', async () => {
    const { prId, bytes, status } = await agentPr('agent/bytes-ok', (text) => Buffer.from(text, 'utf8'));
    expect(status.state).toBe('SUCCESSFUL');
    const [evaluation] = await evaluationsOf(world, prId);
    expect(evaluation?.bundleSource).toBe('repo_file');
    expect(evaluation?.bundleSha256B64u).toBe(sha256B64u(bytes));
    // Before the change the hash was taken over the decoded text re-encoded: for UTF-8 without a BOM
    // those are the same bytes, so stored hashes of earlier evaluations keep matching.
    expect(evaluation?.bundleSha256B64u).toBe(sha256B64u(Buffer.from(Buffer.from(bytes).toString('utf8'), 'utf8')));
    // A bundle that was verified is recorded whole in the engine input (evidence packs re-verify it).
    expect(JSON.parse(evaluation?.engineInput ?? '{}')).toMatchObject({
      bundle_text: Buffer.from(bytes).toString('utf8'),
    });
  });

  it('a bundle file with a byte-order mark is read as it is (U+FEFF kept, RFC 8259: not JSON) and fails closed on BUNDLE_UNREADABLE', async () => {
    const { prId, status } = await agentPr('agent/bytes-bom', (text) =>
      Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text, 'utf8')]),
    );
    expect(status.state).toBe('FAILED');
    const [evaluation] = await evaluationsOf(world, prId);
    expect(unreadable(evaluation)).toBe(true);
  });

  it('a bundle file that is not valid UTF-8 fails closed on BUNDLE_UNREADABLE (never decoded with replacements)', async () => {
    // A genuine bundle with one byte broken inside a JSON string: lenient decoding would still parse.
    const { status, prId } = await agentPr('agent/bytes-bad-utf8', (text) => {
      const bytes = Buffer.from(text, 'utf8');
      const at = bytes.indexOf('"bundle_id"') + 13;
      bytes[at] = 0xff;
      return bytes;
    });
    expect(status.state).toBe('FAILED');
    const [evaluation] = await evaluationsOf(world, prId);
    expect(unreadable(evaluation)).toBe(true);
    expect(evaluation?.bundleSha256B64u ?? null).toBeNull();
  });

  it('a bundle file over the size limit fails closed on BUNDLE_UNREADABLE', async () => {
    const { status, prId } = await agentPr('agent/bytes-oversize', (text) =>
      Buffer.from(`${text}${' '.repeat(MAX_BUNDLE_BYTES + 1 - Buffer.byteLength(text))}`, 'utf8'),
    );
    expect(status.state).toBe('FAILED');
    const [evaluation] = await evaluationsOf(world, prId);
    expect(unreadable(evaluation)).toBe(true);
    expect(evaluation?.bundleSha256B64u ?? null).toBeNull();
  });

  it('a refused junk bundle is recorded as its refusal, not its text, and its evidence pack still re-derives the verdict', async () => {
    const receipt = '{"envelope_type":"gateway_receipt","payload":{}}';
    const { prId, bytes, status } = await agentPr('agent/bytes-junk', (text) => {
      // The genuine envelope with 1,001 junk receipts: over the bundle's array bound.
      const envelope = JSON.parse(text) as { payload: Record<string, unknown> };
      envelope.payload.receipts = Array.from({ length: 1_001 }, () => JSON.parse(receipt) as unknown);
      return Buffer.from(JSON.stringify(envelope), 'utf8');
    });
    expect(status.state).toBe('FAILED');
    const [evaluation] = await evaluationsOf(world, prId);
    expect(JSON.stringify(evaluation?.verdict)).toContain('"BUNDLE_LIMIT_EXCEEDED"');
    const recorded = JSON.parse(evaluation?.engineInput ?? '{}') as Record<string, unknown>;
    expect(recorded).not.toHaveProperty('bundle_text');
    expect(recorded.evidence_error).toBe('BUNDLE_LIMIT_EXCEEDED');
    // The refused file stays identified by the SHA-256 of its exact bytes.
    expect(evaluation?.bundleSha256B64u).toBe(sha256B64u(bytes));

    const keys = await callApi(world.app.url, 'GET', '/api/v1/evidence-keys', '');
    const signer = (keys.json.keys as { did: string; active: boolean }[]).find((k) => k.active)?.did ?? '';
    const pack = await fetch(`${world.app.url}/api/v1/workspaces/acme/evaluations/${evaluation?.id ?? ''}/evidence`, {
      headers: { authorization: ws.bearer },
    });
    expect(pack.status).toBe(200);
    const checked = await verifyEvidencePack(await pack.text(), { trustedSignerDids: [signer] });
    expect(checked).toMatchObject({ valid: true, code: 'OK' });
  });
});
