import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { runVerify } from '../../src/cli/verify-command';
import { loadAppConfig } from '../../src/config/app-config';
import { startSandbox, type BitbucketSandbox } from '../../src/sandbox';
import { startClawgate, type ClawgateServer } from '../../src/server/create-server';
import { freePort } from '../../src/server/free-port';
import { makeScenario } from '../../src/testkit';
import { callApi, finalStatus, prepareWorkspace, TEST_SECRET_KEY, waitFor, type Workspace } from './harness';

/** A tool name that must never appear in a log line (the pulse is served, never logged). */
const MARKER_TOOL = 'pulse-marker-tool-5c1e';

const PULSE = {
  tools: [
    { name: MARKER_TOOL, calls: 7 },
    { name: 'bash', calls: 2 },
  ],
  files: [
    { path: 'src/one.ts', touches: 3 },
    { path: 'docs/notes.md', touches: 1 },
    { path: '.github/workflows/ci.yml', touches: 1 },
    { path: 'secrets/[REDACTED].env', touches: 1 },
  ],
  durationMs: 93_000,
};

async function startLoggedClawgate(sandbox: BitbucketSandbox, dir: string, logs: string[]): Promise<ClawgateServer> {
  const port = await freePort();
  const env = {};
  const config = loadAppConfig({
    PORT: String(port),
    APP_BASE_URL: `http://127.0.0.1:${port}`,
    DATABASE_URL: `sqlite:${path.join(dir, 'db.sqlite')}`,
    CLAWGATE_SECRET_KEY: TEST_SECRET_KEY,
    CLAWGATE_ALLOWED_HOSTS: new URL(sandbox.baseUrl).host,
  });
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      logs.push(chunk.toString('utf8'));
      callback();
    },
  });
  return startClawgate({
    config,
    port,
    logger: pino({ level: 'trace' }, sink),
    pollIntervalMs: 50,
    env,
    workers: true,
  });
}

function cliIo(nowMs: number) {
  const out: string[] = [];
  return {
    out,
    io: { stdout: (s: string) => void out.push(s), stderr: (s: string) => void out.push(s), now: () => nowMs, env: {} },
  };
}

async function latestEvaluation(app: ClawgateServer, ws: Workspace, prId: number): Promise<Record<string, unknown>> {
  const list = await callApi(
    app.url,
    'GET',
    `/api/v1/workspaces/acme/evaluations?repo=acme/proj-web&pr=${prId}`,
    ws.bearer,
  );
  const [first] = list.json.evaluations as { id: string }[];
  const detail = await callApi(app.url, 'GET', `/api/v1/workspaces/acme/evaluations/${first!.id}`, ws.bearer);
  return detail.json;
}

describe('e2e: Trust Pulse beside the bundle, and signed evidence packs that re-verify offline', () => {
  let sandbox: BitbucketSandbox;
  let dir: string;
  let app: ClawgateServer;
  let ws: Workspace;
  const logs: string[] = [];

  beforeAll(async () => {
    sandbox = await startSandbox();
    dir = mkdtempSync(path.join(tmpdir(), 'clawgate-evidence-'));
    app = await startLoggedClawgate(sandbox, dir, logs);
    ws = await prepareWorkspace(sandbox, app.url);
  }, 30_000);
  afterAll(async () => {
    await app.close();
    await sandbox.close();
    rmSync(dir, { recursive: true, force: true });
  });

  let packPath = '';
  let firstSigner = '';
  let evaluationId = '';

  test('a pulse committed beside the bundle is verified, compared with the diff, stored, served, and never logged', async () => {
    const work = sandbox.commit('acme/proj-web', {
      branch: 'agent/pulse',
      author: 'claw-bot',
      message: 'agent work',
      files: { 'src/one.ts': 'export const one = 1;\n' },
    });
    const s = makeScenario({
      workspace: 'acme',
      repoSlug: 'proj-web',
      commit: work.hash,
      wpc: ws.wpc,
      startMs: Date.now() - 60_000,
      ...ws.keys,
      trustPulse: PULSE,
    });
    const head = sandbox.commit('acme/proj-web', {
      branch: 'agent/pulse',
      author: 'claw-bot',
      message: 'proof bundle',
      files: {
        '.clawsig/proof_bundle.json': JSON.stringify(s.bundle.envelope),
        '.clawsig/urm.json': JSON.stringify(s.bundle.urm),
        '.clawsig/trust_pulse.json': JSON.stringify(s.bundle.trustPulse),
      },
    });
    const pr = sandbox.openPullRequest('acme/proj-web', {
      source: 'agent/pulse',
      author: 'claw-bot',
      title: 'pulse',
      description: `Proof-Bundle: ${s.bundle.bundleId}`,
    });
    expect((await finalStatus(sandbox, head.hash)).state).toBe('SUCCESSFUL');

    const detail = await latestEvaluation(app, ws, pr.id);
    evaluationId = String(detail.id);
    const pulse = (detail.verdict as { trust_pulse: Record<string, unknown> }).trust_pulse;
    expect(pulse.status).toBe('verified');
    expect(pulse.evidence_class).toBe('self_reported');
    expect((pulse.summary as { tools: unknown }).tools).toEqual([
      { name: MARKER_TOOL, calls: 7 },
      { name: 'bash', calls: 2 },
    ]);
    expect((pulse.summary as { duration_ms: number }).duration_ms).toBe(93_000);
    expect(pulse.comparison).toEqual({
      // The bundle's own files are in the diff but not in the pulse: shown, not hidden.
      unreported_diff_paths: ['.clawsig/proof_bundle.json', '.clawsig/trust_pulse.json', '.clawsig/urm.json'],
      reported_not_in_diff: ['.github/workflows/ci.yml', 'docs/notes.md'],
      reported_denied: [{ path: '.github/workflows/ci.yml', glob: '**/.github/**' }],
      redacted: ['secrets/[REDACTED].env'],
    });

    const raw = await fetch(`${app.url}/api/v1/workspaces/acme/evaluations/${evaluationId}/trust-pulse`, {
      headers: { authorization: ws.bearer },
    });
    expect(raw.status).toBe(200);
    expect(await raw.text()).toBe(JSON.stringify(s.bundle.trustPulse));

    const runs = await callApi(app.url, 'GET', '/api/v1/workspaces/acme/agent-runs?limit=10', ws.bearer);
    const run = (runs.json.runs as Record<string, unknown>[]).find((r) => r.id === evaluationId);
    expect(run).toMatchObject({
      repo: 'acme/proj-web',
      pr_id: pr.id,
      state: 'PASS',
      trust_pulse: { status: 'verified', reported_denied: 1, reported_not_in_diff: 2, redacted: 1 },
    });

    const audit = await fetch(`${app.url}/api/v1/workspaces/acme/audit?kind=evaluation`, {
      headers: { authorization: ws.bearer },
    });
    expect(await audit.text()).toContain('"trust_pulse":{"status":"verified"');

    expect(logs.length).toBeGreaterThan(0);
    expect(logs.filter((line) => line.includes(MARKER_TOOL))).toEqual([]);
  }, 40_000);

  test('GET …/evidence is signed by the served deployment key and `clawgate verify` re-derives the same verdict offline', async () => {
    const keys = await callApi(app.url, 'GET', '/api/v1/evidence-keys', '');
    const [active] = keys.json.keys as { did: string; active: boolean }[];
    expect(active?.active).toBe(true);
    firstSigner = active!.did;

    const response = await fetch(`${app.url}/api/v1/workspaces/acme/evaluations/${evaluationId}/evidence`, {
      headers: { authorization: ws.bearer },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-evidence-signer')).toBe(firstSigner);
    const text = await response.text();
    packPath = path.join(dir, 'evidence.json');
    writeFileSync(packPath, text);

    // Years later: no service, no clock dependency (the recorded time is the verification time).
    const later = Date.UTC(2031, 0, 1);
    const pinned = cliIo(later);
    expect(await runVerify([packPath, '--evidence-signer', firstSigner, '--format', 'json'], pinned.io)).toBe(0);
    const result = JSON.parse(pinned.out.join('')) as Record<string, unknown>;
    expect(result).toMatchObject({
      status: 'PASS',
      reason_code: 'OK',
      recorded: { state: 'PASS', reason_code: 'OK' },
      derived: { state: 'PASS', reason_code: 'OK', trust_pulse: { status: 'verified' } },
      differences: [],
    });

    // Without pinning the deployment key a valid signature is not enough (anyone can sign a pack).
    const unpinned = cliIo(later);
    expect(await runVerify([packPath], unpinned.io)).toBe(1);
    expect(unpinned.out.join('')).toContain('EVIDENCE_SIGNER_UNTRUSTED');
  }, 30_000);

  test('changing any byte of the pack makes `clawgate verify` fail', async () => {
    const original = readFileSync(packPath);
    const mutated = path.join(dir, 'mutated.json');
    // Every byte position in a spread over the whole file (the envelope's fields, the payload, the newline).
    const step = Math.max(1, Math.floor(original.length / 400));
    const positions = new Set<number>([0, original.length - 1, original.length - 2]);
    for (let i = 0; i < original.length; i += step) positions.add(i);
    const passed: number[] = [];
    for (const position of positions) {
      const copy = Buffer.from(original);
      copy[position] = copy[position] === 0x20 ? 0x21 : copy[position]! ^ 0x01 || 0x41;
      writeFileSync(mutated, copy);
      const { io } = cliIo(Date.now());
      const code = await runVerify([mutated, '--evidence-signer', firstSigner], io);
      if (code === 0) passed.push(position);
    }
    expect(passed).toEqual([]);
    // Whitespace-only changes do not change the signed payload but are still refused.
    writeFileSync(mutated, `${original.toString('utf8').trimEnd()} \n`);
    const { io, out } = cliIo(Date.now());
    expect(await runVerify([mutated, '--evidence-signer', firstSigner], io)).toBe(1);
    expect(out.join('')).toContain('EVIDENCE_NOT_CANONICAL');
  }, 120_000);

  test('key rotation: new packs carry the new key, packs signed before stay verifiable, both keys are served', async () => {
    const rotated = await app.store.evidenceKeys.rotate();
    expect(rotated.did).not.toBe(firstSigner);
    const keys = await callApi(app.url, 'GET', '/api/v1/evidence-keys', '');
    expect((keys.json.keys as { did: string; active: boolean }[]).map((k) => [k.did, k.active])).toEqual([
      [rotated.did, true],
      [firstSigner, false],
    ]);
    const response = await fetch(`${app.url}/api/v1/workspaces/acme/evaluations/${evaluationId}/evidence`, {
      headers: { authorization: ws.bearer },
    });
    expect(response.headers.get('x-evidence-signer')).toBe(rotated.did);
    const old = cliIo(Date.now());
    expect(
      await runVerify([packPath, '--evidence-signer', rotated.did, '--evidence-signer', firstSigner], old.io),
    ).toBe(0);
  }, 30_000);

  test('a pulse uploaded with the bundle through the API is used; another workspace cannot read the pack', async () => {
    const work = sandbox.commit('acme/proj-web', {
      branch: 'agent/upload',
      author: 'claw-bot',
      message: 'agent work',
      files: { 'src/two.ts': 'export const two = 2;\n' },
    });
    const s = makeScenario({
      workspace: 'acme',
      repoSlug: 'proj-web',
      commit: work.hash,
      wpc: ws.wpc,
      startMs: Date.now() - 60_000,
      ...ws.keys,
      trustPulse: { tools: [{ name: 'edit_file', calls: 1 }], files: [{ path: 'src/two.ts', touches: 1 }] },
    });
    const upload = await callApi(app.url, 'POST', '/api/v1/workspaces/acme/bundles', ws.bearer, {
      bundle: s.bundle.envelope,
      urm: s.bundle.urm,
      trust_pulse: s.bundle.trustPulse,
    });
    expect(upload.status).toBe(201);
    const tooBig = await callApi(app.url, 'POST', '/api/v1/workspaces/acme/bundles', ws.bearer, {
      bundle: s.bundle.envelope,
      trust_pulse: { ...s.bundle.trustPulse, trust_pulse_id: 'x'.repeat(70_000) },
    });
    expect(tooBig.status).toBe(413);
    const pr = sandbox.openPullRequest('acme/proj-web', {
      source: 'agent/upload',
      author: 'claw-bot',
      title: 'upload',
      description: `Proof-Bundle: ${s.bundle.bundleId}`,
    });
    expect((await finalStatus(sandbox, work.hash)).state).toBe('SUCCESSFUL');
    const detail = await waitFor(
      async () => {
        const d = await latestEvaluation(app, ws, pr.id);
        return d.id ? d : undefined;
      },
      5000,
      'the evaluation',
    );
    const pulse = (detail.verdict as { trust_pulse: { status: string; comparison: Record<string, unknown> } })
      .trust_pulse;
    expect(pulse.status).toBe('verified');
    expect(pulse.comparison.unreported_diff_paths).toEqual([]);

    sandbox.createWorkspace({ slug: 'other', name: 'Other' });
    const other = await sandbox.installApp({ descriptorUrl: `${app.url}/atlassian-connect.json`, workspace: 'other' });
    const tokenPath = '/api/v1/workspaces/other/tokens';
    const token = await callApi(
      app.url,
      'POST',
      tokenPath,
      `JWT ${sandbox.createPageJwt({ clientKey: other.clientKey, method: 'POST', url: tokenPath })}`,
      {},
    );
    const foreign = await fetch(`${app.url}/api/v1/workspaces/other/evaluations/${String(detail.id)}/evidence`, {
      headers: { authorization: `Bearer ${String(token.json.token)}` },
    });
    expect(foreign.status).toBe(404);
  }, 40_000);
});
