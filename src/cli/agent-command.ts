import { access, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { setProofBundleLine } from '../agent/proof-bundle-line';
import { isJsonObject } from '../core/clawsig/json';
import { runArtifactPaths } from '../core/clawsig/run-artifacts';
import type { ReasonCode } from '../core/reason-codes';
import { parseBitbucketWpc } from '../core/policy';
import { bitbucketBinding } from '../core/profile';
import { verifyAndEvaluate, type EvaluationInput } from '../core/verdict';
import { REASON_TEXT } from '../render/explanations';
import { verdictToJson } from '../render/verdict-json';
import { verdictToText } from '../render/verdict-text';
import type { ChangeCommit, ChangedFile } from '../core/policy/change-set';
import { parseChangeSetFile } from '../core/policy/change-set-schema';
import { localChange } from './git-change-set';
import { DEFAULT_MAX_INPUT_BYTES, InputError, readInputJson, readInputText } from './input-file';
import type { CliIo } from './io';

export const AGENT_USAGE = `Usage:
  clawgate agent preflight --bundle F --base REF [options]
  clawgate agent attach --service URL --workspace WS --bundle F [options]

preflight  Evaluates the local branch (the diff from REF's merge base to HEAD, and its
           commits), the bundle and the WPC BEFORE the PR exists, with the same engine and
           reason codes as the PR will get. Offline with --wpc (and the trust you pass), or
           against the service with --service: then the workspace's own settings, assigned
           WPC and consumed ids apply. Nothing is stored or consumed.
attach     Uploads the bundle with its URM and Trust Pulse to the service (a bundles:write
           token) and prints the "Proof-Bundle: <id>" line; --set FILE writes the line into a
           PR description (or commit message) file instead, replacing any there.

Options:
  --bundle FILE              the signed proof-bundle envelope (signed by the harness: no key
                             ever reaches clawgate)
  --urm FILE, --trust-pulse FILE
                             the run's URM and Trust Pulse (default: the harness's siblings
                             <name>-urm.json / <name>-trust-pulse.json, or urm.json /
                             trust_pulse.json beside proof_bundle.json, when present)
  --cst FILE                 scoped token (compact JWT) when it is not in the bundle's metadata
  --base REF                 (preflight) the branch the PR will target, e.g. origin/main
  --changes FILE             (preflight) the change as a --changes file of "clawgate verify",
                             instead of reading it from git with --base
  --target BRANCH            (preflight) its name on Bitbucket (default: REF without remote)
  --repo WS/SLUG             (preflight) default: the bundle's signed metadata.bitbucket
  -C DIR                     (preflight) the git repository (default: the current directory)
  --wpc FILE                 (preflight, offline) the WPC
  --trusted-gateway DID      (preflight, offline) gateway to trust (repeatable)
  --cst-issuer-key B64U      (preflight, offline) CST issuer key (repeatable)
  --now ISO                  (preflight, offline) verification time (default: now)
  --service URL              clawgate's base URL; the token is read from CLAWGATE_TOKEN
  --workspace WS             the workspace slug or {uuid}
  --set FILE                 (attach) write the Proof-Bundle line into FILE
  --format text|json         output format (default: text)
  -h, --help                 show this help

Exit status: 0 PASS (preflight) or uploaded (attach), 1 FAIL or refused, 2 usage or input error.
`;

const MAX_TRUST_PULSE_FILE = 64 * 1024 + 1;
const SERVICE_TIMEOUT_MS = 30_000;

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}

/** The harness's sibling files of a bundle, on local paths (the same names the pipeline looks for). */
async function siblings(bundleFile: string): Promise<{ urm?: string; trustPulse?: string }> {
  const dir = path.dirname(bundleFile);
  const base = path.basename(bundleFile);
  const names = runArtifactPaths(base === 'proof_bundle.json' ? '.clawsig/proof_bundle.json' : base);
  const out: { urm?: string; trustPulse?: string } = {};
  const urm = path.join(dir, path.basename(names.urm));
  const trustPulse = path.join(dir, path.basename(names.trustPulse));
  if (await exists(urm)) out.urm = urm;
  if (await exists(trustPulse)) out.trustPulse = trustPulse;
  return out;
}

interface RunArtifacts {
  bundle: unknown;
  bundleId: string;
  urm?: unknown;
  trustPulseText?: string;
  scopedToken?: string;
}

async function readArtifacts(values: {
  bundle?: string;
  urm?: string;
  'trust-pulse'?: string;
  cst?: string;
}): Promise<RunArtifacts> {
  if (values.bundle === undefined) throw new InputError('--bundle is required');
  const bundle = await readInputJson(values.bundle, DEFAULT_MAX_INPUT_BYTES, 'bundle');
  const payload = isJsonObject(bundle) && isJsonObject(bundle.payload) ? bundle.payload : undefined;
  if (!payload || typeof payload.bundle_id !== 'string')
    throw new InputError(`bundle ${values.bundle} is not a signed proof-bundle envelope with payload.bundle_id`);
  const found = await siblings(values.bundle);
  const urmFile = values.urm ?? found.urm;
  const pulseFile = values['trust-pulse'] ?? found.trustPulse;
  return {
    bundle,
    bundleId: payload.bundle_id,
    ...(urmFile !== undefined ? { urm: await readInputJson(urmFile, DEFAULT_MAX_INPUT_BYTES, 'URM') } : {}),
    // One byte over the limit is read, so the engine says "too large" rather than "unreadable".
    ...(pulseFile !== undefined
      ? { trustPulseText: await readInputText(pulseFile, MAX_TRUST_PULSE_FILE, 'Trust Pulse') }
      : {}),
    ...(values.cst !== undefined ? { scopedToken: (await readInputText(values.cst, 64 * 1024, 'CST')).trim() } : {}),
  };
}

function serviceToken(io: CliIo): string {
  const token = io.env.CLAWGATE_TOKEN?.trim();
  if (!token)
    throw new InputError(
      'set CLAWGATE_TOKEN to a clawgate API token (bundles:write for attach); tokens are never taken on the command line',
    );
  return token;
}

async function callService(
  base: string,
  workspace: string,
  route: string,
  token: string,
  body: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  let url: URL;
  try {
    url = new URL(`/api/v1/workspaces/${encodeURIComponent(workspace)}/${route}`, base);
  } catch {
    throw new InputError(`--service ${base} is not a URL`);
  }
  if (
    url.protocol !== 'https:' &&
    !(url.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname))
  )
    throw new InputError('--service must be https:// (plain http only on loopback)');
  const response = await fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
    redirect: 'error',
    signal: AbortSignal.timeout(SERVICE_TIMEOUT_MS),
  });
  const text = await response.text();
  let json: Record<string, unknown> = {};
  try {
    const parsed = JSON.parse(text) as unknown;
    if (isJsonObject(parsed)) json = parsed;
  } catch {
    json = {};
  }
  return { status: response.status, json };
}

function serviceError(json: Record<string, unknown>, status: number): string {
  const error = isJsonObject(json.error) ? json.error : undefined;
  return `${status} ${typeof error?.code === 'string' ? error.code : ''}: ${typeof error?.message === 'string' ? error.message : 'no error message'}`;
}

/** Text for a verdict the service answered (verdictToJson's shape). */
function serviceVerdictText(json: Record<string, unknown>): string {
  const lines = [`Preflight (service): ${String(json.state)} (${String(json.reason_code)})`];
  const checks = Array.isArray(json.checks) ? json.checks : [];
  for (const check of checks) {
    if (!isJsonObject(check) || (check.outcome !== 'fail' && check.outcome !== 'pending')) continue;
    const code = String(check.code) as ReasonCode;
    lines.push(`  ✗ ${code}: ${REASON_TEXT[code] ?? code}`);
  }
  const pulse = isJsonObject(json.trust_pulse) ? json.trust_pulse : undefined;
  if (pulse) lines.push(trustPulseLine(String(pulse.status), pulse.problem ? String(pulse.problem) : undefined));
  return `${lines.join('\n')}\n`;
}

/** The one line that reports the pulse's check (it never changes the verdict). */
function trustPulseLine(status: string, problem: string | undefined): string {
  return `Trust Pulse (self-reported by the agent's harness): ${status}${problem ? ` (${problem})` : ''}`;
}

async function runPreflight(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      bundle: { type: 'string' },
      urm: { type: 'string' },
      'trust-pulse': { type: 'string' },
      cst: { type: 'string' },
      base: { type: 'string' },
      changes: { type: 'string' },
      target: { type: 'string' },
      repo: { type: 'string' },
      C: { type: 'string', short: 'C' },
      wpc: { type: 'string' },
      'trusted-gateway': { type: 'string', multiple: true },
      'cst-issuer-key': { type: 'string', multiple: true },
      now: { type: 'string' },
      service: { type: 'string' },
      workspace: { type: 'string' },
      format: { type: 'string', default: 'text' },
    },
  });
  if (values.format !== 'text' && values.format !== 'json') throw new InputError('--format must be text or json');
  if ((values.base === undefined) === (values.changes === undefined))
    throw new InputError('give --base REF (read the change from git) or --changes FILE, not both');
  if (values.service === undefined && values.wpc === undefined)
    throw new InputError('offline preflight needs --wpc (or use --service)');
  const artifacts = await readArtifacts(values);
  const payload = (artifacts.bundle as { payload: Record<string, unknown> }).payload;
  const binding = bitbucketBinding(isJsonObject(payload.metadata) ? payload.metadata : undefined);
  const repo =
    values.repo ?? (binding?.workspace && binding.repoSlug ? `${binding.workspace}/${binding.repoSlug}` : undefined);
  if (repo === undefined || !/^[A-Za-z0-9._-]+\/[A-Za-z0-9._-]+$/.test(repo))
    throw new InputError('--repo WS/SLUG is required (the bundle names no metadata.bitbucket repository)');
  let local: { head: string; sourceBranch: string; files: ChangedFile[]; commits: ChangeCommit[] };
  let target: string;
  if (values.changes !== undefined) {
    const parsed = parseChangeSetFile(await readInputJson(values.changes, DEFAULT_MAX_INPUT_BYTES, 'changes file'));
    if (!parsed.ok)
      throw new InputError(
        `changes file ${values.changes} is invalid: ${parsed.issues.map((i) => `${i.path || '(root)'}: ${i.message}`).join('; ')}`,
      );
    const pr = parsed.change.pullRequest;
    if (!pr) throw new InputError('the changes file needs pullRequest (source and destination branch, head commit)');
    local = {
      head: pr.headCommit,
      sourceBranch: pr.sourceBranch,
      files: parsed.change.files,
      commits: parsed.change.commits,
    };
    target = values.target ?? pr.destinationBranch;
  } else {
    const base = values.base ?? '';
    local = await localChange(values.C ?? process.cwd(), base);
    target = values.target ?? base.replace(/^(refs\/remotes\/)?[^/]+\//, '');
  }

  if (values.service !== undefined) {
    if (values.workspace === undefined) throw new InputError('--service needs --workspace');
    const answer = await callService(values.service, values.workspace, 'preflight', serviceToken(io), {
      repo,
      bundle: artifacts.bundle,
      ...(artifacts.urm !== undefined ? { urm: artifacts.urm } : {}),
      ...(artifacts.trustPulseText !== undefined
        ? { trust_pulse: JSON.parse(artifacts.trustPulseText) as unknown }
        : {}),
      ...(artifacts.scopedToken !== undefined ? { scoped_token: artifacts.scopedToken } : {}),
      change: {
        source_branch: local.sourceBranch,
        destination_branch: target,
        head: local.head,
        files: local.files,
        commits: local.commits,
      },
    });
    if (answer.status !== 200) {
      io.stderr(`clawgate agent preflight: the service refused: ${serviceError(answer.json, answer.status)}\n`);
      return 1;
    }
    io.stdout(values.format === 'json' ? `${JSON.stringify(answer.json, null, 2)}\n` : serviceVerdictText(answer.json));
    return answer.json.state === 'PASS' ? 0 : 1;
  }

  const wpc = parseBitbucketWpc(await readInputJson(values.wpc ?? '', DEFAULT_MAX_INPUT_BYTES, 'WPC'));
  if (!wpc.ok)
    throw new InputError(
      `WPC ${values.wpc ?? ''} is invalid: ${wpc.issues.map((i) => `${i.path || '(root)'}: ${i.message}`).join('; ')}`,
    );
  const nowMs = values.now === undefined ? io.now() : Date.parse(values.now);
  if (Number.isNaN(nowMs)) throw new InputError(`--now ${values.now ?? ''} is not an ISO 8601 date-time`);
  const agentDid = typeof payload.agent_did === 'string' ? payload.agent_did : undefined;
  const [workspace, repoSlug] = repo.split('/') as [string, string];
  const input: EvaluationInput = {
    nowMs,
    profile: 'clawgate',
    settings: {
      mode: 'enforce',
      trustedGateways: (values['trusted-gateway'] ?? []).map((did) => ({ did })),
      cstIssuers: (values['cst-issuer-key'] ?? []).map((publicKeyB64u) => ({ publicKeyB64u })),
    },
    bundle: artifacts.bundle,
    ...(artifacts.scopedToken !== undefined ? { scopedToken: artifacts.scopedToken } : {}),
    policy: { wpc: wpc.wpc, hash: wpc.policyHashB64u },
    ...(artifacts.urm !== undefined ? { urm: artifacts.urm } : {}),
    ...(artifacts.trustPulseText !== undefined ? { trustPulse: artifacts.trustPulseText } : {}),
    change: {
      workspace,
      repoSlug,
      repoFullName: repo,
      action: 'create_pr',
      // Offline, the PR's author is assumed to be the registered write identity of the bundle's agent.
      actor: { accountId: 'agent', agentIdentity: { role: 'write', ...(agentDid ? { agentDid } : {}) } },
      pullRequest: {
        id: 1,
        sourceBranch: local.sourceBranch,
        destinationBranch: target,
        headCommit: local.head,
        declaredBundleIds: [artifacts.bundleId],
      },
      files: local.files,
      commits: local.commits,
      approvals: [],
    },
  };
  const verdict = await verifyAndEvaluate(input);
  if (values.format === 'json')
    io.stdout(`${JSON.stringify({ preflight: true, ...verdictToJson(verdict, `${repo} (preflight)`) }, null, 2)}\n`);
  else {
    io.stdout(verdictToText(verdict, `${repo} ${local.sourceBranch} → ${target} (preflight, offline)`, 'clawgate'));
    if (verdict.trustPulse.status !== 'absent')
      io.stdout(`${trustPulseLine(verdict.trustPulse.status, verdict.trustPulse.problem)}\n`);
  }
  return verdict.state === 'PASS' ? 0 : 1;
}

async function runAttach(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      bundle: { type: 'string' },
      urm: { type: 'string' },
      'trust-pulse': { type: 'string' },
      cst: { type: 'string' },
      service: { type: 'string' },
      workspace: { type: 'string' },
      set: { type: 'string' },
      format: { type: 'string', default: 'text' },
    },
  });
  if (values.service === undefined || values.workspace === undefined)
    throw new InputError('attach needs --service URL and --workspace WS');
  const artifacts = await readArtifacts(values);
  let trustPulse: unknown;
  if (artifacts.trustPulseText !== undefined) {
    try {
      trustPulse = JSON.parse(artifacts.trustPulseText) as unknown;
    } catch {
      throw new InputError('the Trust Pulse file is not JSON');
    }
  }
  const answer = await callService(values.service, values.workspace, 'bundles', serviceToken(io), {
    bundle: artifacts.bundle,
    ...(artifacts.urm !== undefined ? { urm: artifacts.urm } : {}),
    ...(trustPulse !== undefined ? { trust_pulse: trustPulse } : {}),
    ...(artifacts.scopedToken !== undefined ? { scoped_token: artifacts.scopedToken } : {}),
  });
  if (answer.status !== 200 && answer.status !== 201) {
    io.stderr(`clawgate agent attach: the service refused the upload: ${serviceError(answer.json, answer.status)}\n`);
    return 1;
  }
  const line = `Proof-Bundle: ${artifacts.bundleId}`;
  if (values.set !== undefined) {
    // A missing file starts empty; an unreadable or oversized one is an input error.
    const current = (await exists(values.set))
      ? await readInputText(values.set, DEFAULT_MAX_INPUT_BYTES, 'description file')
      : '';
    await writeFile(values.set, setProofBundleLine(current, artifacts.bundleId));
  }
  io.stdout(
    values.format === 'json'
      ? `${JSON.stringify({ bundle_id: artifacts.bundleId, line, uploaded: answer.status === 201, urm: artifacts.urm !== undefined, trust_pulse: trustPulse !== undefined, ...(values.set ? { set: values.set } : {}) })}\n`
      : `${line}\n`,
  );
  return 0;
}

export async function runAgent(argv: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h' || rest.includes('--help') || rest.includes('-h')) {
    io.stdout(AGENT_USAGE);
    return sub === undefined ? 2 : 0;
  }
  try {
    if (sub === 'preflight') return await runPreflight(rest, io);
    if (sub === 'attach') return await runAttach(rest, io);
    io.stderr(`clawgate agent: unknown subcommand "${sub}"\n${AGENT_USAGE}`);
    return 2;
  } catch (error) {
    if (
      error instanceof InputError ||
      (error instanceof TypeError &&
        'code' in error &&
        String((error as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS'))
    ) {
      io.stderr(`clawgate agent ${sub}: ${error.message}\n`);
      return 2;
    }
    if (
      error instanceof Error &&
      (error.name === 'TimeoutError' || error.name === 'TypeError') &&
      /fetch|timeout|aborted/i.test(error.message)
    ) {
      io.stderr(`clawgate agent ${sub}: the service did not answer: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}
